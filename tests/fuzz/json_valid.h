/* json_valid.h — whether fuseboxctl's output is JSON (fuzz_box.c). */
#ifndef FBX_FUZZ_JSON_VALID_H
#define FBX_FUZZ_JSON_VALID_H

#include <stdbool.h>
#include <string.h>

#include "fuzz.h"

/* JSON as RFC 8259 has it, with nothing but ASCII inside strings. */
UNCOVERED static const char *json_value(const char *s, int depth);

UNCOVERED static const char *json_space(const char *s)
{
	while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
		s++;
	return s;
}

UNCOVERED static const char *json_string(const char *s)
{
	if (*s++ != '"')
		return NULL;
	for (;;) {
		unsigned char c = (unsigned char)*s++;
		if (c == '"')
			return s;
		if (c < 0x20 || c >= 0x7f)
			return NULL;
		if (c != '\\')
			continue;
		c = (unsigned char)*s++;
		if (c == 'u') {
			for (int i = 0; i < 4; i++, s++)
				if (!strchr("0123456789abcdefABCDEF", *s) || *s == '\0')
					return NULL;
		} else if (c == '\0' || !strchr("\"\\/bfnrt", c)) {
			return NULL;
		}
	}
}

UNCOVERED static const char *json_number(const char *s)
{
	const char *from;
	s += *s == '-';
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		s += strspn(s, "0123456789");
	else
		return NULL;
	if (*s == '.') {
		from = ++s;
		s += strspn(s, "0123456789");
		if (s == from)
			return NULL;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		s += *s == '+' || *s == '-';
		from = s;
		s += strspn(s, "0123456789");
		if (s == from)
			return NULL;
	}
	return s;
}

UNCOVERED static const char *json_members(const char *s, char close, int depth)
{
	s = json_space(s);
	if (*s == close)
		return s + 1;
	for (;;) {
		if (close == '}') {
			s = json_string(json_space(s));
			if (s == NULL || *(s = json_space(s)) != ':')
				return NULL;
			s++;
		}
		if ((s = json_value(s, depth + 1)) == NULL)
			return NULL;
		s = json_space(s);
		if (*s == close)
			return s + 1;
		if (*s++ != ',')
			return NULL;
	}
}

UNCOVERED static const char *json_value(const char *s, int depth)
{
	s = json_space(s);
	if (depth > 16)
		return NULL;
	switch (*s) {
	case '{': return json_members(s + 1, '}', depth);
	case '[': return json_members(s + 1, ']', depth);
	case '"': return json_string(s);
	case 't': return strncmp(s, "true", 4) == 0 ? s + 4 : NULL;
	case 'f': return strncmp(s, "false", 5) == 0 ? s + 5 : NULL;
	case 'n': return strncmp(s, "null", 4) == 0 ? s + 4 : NULL;
	default: return json_number(s);
	}
}

/* Whether text[0..len) is one JSON value (and holds no NUL). */
UNCOVERED static bool json_valid(const char *text, size_t len)
{
	const char *end = json_value(text, 0);
	return strlen(text) == len && end != NULL && *json_space(end) == '\0';
}

#endif
