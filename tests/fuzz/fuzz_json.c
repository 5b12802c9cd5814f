/*
 * fuzz_json.c — fuseboxctl's JSON string writer (json_str in
 * tools/ctl_parse.c), which every --json output, `status --json` and
 * `events --follow --json` go through.
 *
 * The tool keeps its own writer (it streams one object per line and its
 * bytes stay the same from one release to the next); this target holds it
 * to a real JSON parser, jansson.  The input is the string's bytes, up to
 * the first NUL (json_str takes a C string).  What the writer means to
 * write: every byte outside printable ASCII as \u00XX, so the JSON text is
 * pure ASCII and each byte comes back as the code point of the same value
 * (U+0000-U+00FF, the bytes read as Latin-1): invalid UTF-8 and control
 * bytes cannot reach a terminal or a parser raw, and a UTF-8 "ö" comes
 * back as the two code points U+00C3 U+00B6.  The checks: the output is
 * ASCII, jansson parses it alone and inside an object as the tool writes
 * it, and the decoded string is that Latin-1 reading of the input.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "fuzz.h"

/* The input's bytes as UTF-8, one code point per byte. */
UNCOVERED static char *latin1_as_utf8(const unsigned char *s, size_t n, size_t *len)
{
	char *out = malloc(2 * n + 1);
	CHECK(out != NULL);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x80) {
			out[o++] = (char)s[i];
		} else {
			out[o++] = (char)(0xc0 | s[i] >> 6);
			out[o++] = (char)(0x80 | (s[i] & 0x3f));
		}
	}
	out[o] = '\0';
	*len = o;
	return out;
}

UNCOVERED static void check_decoded(const json_t *v, const char *want, size_t want_len)
{
	CHECK(json_is_string(v));
	CHECK(json_string_length(v) == want_len);
	CHECK(memcmp(json_string_value(v), want, want_len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t n = nul != NULL ? (size_t)(nul - data) : size;
	char *s = malloc(n + 1);
	CHECK(s != NULL);
	memcpy(s, data, n);
	s[n] = '\0';

	char *out = NULL;
	size_t out_len = 0;
	FILE *f = open_memstream(&out, &out_len);
	CHECK(f != NULL);
	fputs("{\"name\":", f);
	json_str(f, s);
	fputs("}", f);
	CHECK(fclose(f) == 0);

	for (size_t i = 0; i < out_len; i++)
		CHECK((unsigned char)out[i] >= 0x20 && (unsigned char)out[i] < 0x7f);

	size_t want_len;
	char *want = latin1_as_utf8((const unsigned char *)s, n, &want_len);
	json_error_t err;
	/* JSON_ALLOW_NUL: a \u0000 the writer should never write is then a
	 * wrong string, not a parse error that hides what was written */
	json_t *obj = json_loads(out, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &err);
	if (obj == NULL)
		fprintf(fuzz_err ? fuzz_err : stderr, "fuzz_json: jansson: %s at %d in %s\n",
			err.text, err.position, out);
	CHECK(obj != NULL && json_is_object(obj) && json_object_size(obj) == 1);
	check_decoded(json_object_get(obj, "name"), want, want_len);
	json_decref(obj);

	/* the string alone is a JSON text too */
	const char *str = out + strlen("{\"name\":");
	size_t str_len = out_len - strlen("{\"name\":") - 1;
	json_t *v = json_loadb(str, str_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	CHECK(v != NULL);
	check_decoded(v, want, want_len);
	json_decref(v);

	free(want);
	free(out);
	free(s);
	return 0;
}
