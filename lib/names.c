/* names.c — what a box, breaker or limiter may be called. */
#include <string.h>

#include "internal.h"

int fbx_name_check_box(const char *name)
{
	if (name == NULL)
		return FBX_EINVAL;
	size_t n = strnlen(name, FBX__BOX_NAME_MAX + 1);
	if (n == 0 || n > FBX__BOX_NAME_MAX || name[0] == '.')
		return FBX_ENAME;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
		if (!ok)
			return FBX_ENAME;
	}
	return 0;
}

int fbx_name_check_record(const char *name)
{
	if (name == NULL)
		return FBX_EINVAL;
	size_t n = strnlen(name, FBX_NAME_MAX);
	if (n == 0 || n >= FBX_NAME_MAX)
		return FBX_ENAME;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] <= 0x20 || (unsigned char)name[i] >= 0x7f)
			return FBX_ENAME;
	return 0;
}

int fbx__name_copy(char dst[FBX_NAME_MAX], const char *src)
{
	int rc = fbx_name_check_record(src);
	if (rc)
		return rc;
	memset(dst, 0, FBX_NAME_MAX);
	memcpy(dst, src, strlen(src));
	return 0;
}
