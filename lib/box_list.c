/* box_list.c — the boxes on this host, for a tool that was not told which
 * one to use.  POSIX shm objects live in /dev/shm on Linux (glibc's
 * shm_open names them there), so listing that directory is listing them. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define SHM_DIR "/dev/shm"
#define PREFIX "fusebox."

_Static_assert(sizeof(((fbx_box_name *)0)->name) > FBX__BOX_NAME_MAX, "a box name and its NUL fit");

static int by_name(const void *a, const void *b)
{
	return strcmp(((const fbx_box_name *)a)->name, ((const fbx_box_name *)b)->name);
}

int fbx_box_list(fbx_box_name *names, size_t cap, size_t *count)
{
	if (count == NULL || (names == NULL && cap > 0))
		return FBX_EINVAL;
	*count = 0;
	DIR *d = opendir(SHM_DIR);
	if (d == NULL)
		return FBX_ESYS;
	size_t n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		const char *name = e->d_name;
		if (strncmp(name, PREFIX, strlen(PREFIX)) != 0 ||
		    fbx_name_check_box(name + strlen(PREFIX)) != 0)
			continue;
		if (n < cap) {
			size_t m = strlen(name + strlen(PREFIX));
			memcpy(names[n].name, name + strlen(PREFIX), m + 1);
		}
		n++;
	}
	closedir(d);
	qsort(names, n < cap ? n : cap, sizeof(*names), by_name);
	*count = n;
	return 0;
}
