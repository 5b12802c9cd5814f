/* box_list.c — the boxes on this host, for a tool that was not told which
 * one to use.  POSIX shm objects live in /dev/shm on Linux (glibc's
 * shm_open names them there), so listing that directory is listing them. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define SHM_DIR "/dev/shm"
#define PREFIX "fusebox."

_Static_assert(sizeof(((fbx_box_name *)0)->name) > FBX__BOX_NAME_MAX, "a box name and its NUL fit");

/* Keeps names[0..*kept) the cap smallest names seen so far, in order: a
 * host with more boxes than cap still gets the first ones by name, not the
 * first ones the directory happened to return. */
static void keep_sorted(fbx_box_name *names, size_t cap, size_t *kept, const char *name)
{
	size_t at = *kept;
	while (at > 0 && strcmp(names[at - 1].name, name) > 0)
		at--;
	if (at >= cap)
		return;
	size_t last = *kept < cap ? *kept : cap - 1;
	memmove(&names[at + 1], &names[at], (last - at) * sizeof(*names));
	snprintf(names[at].name, sizeof(names[at].name), "%s", name);
	if (*kept < cap)
		(*kept)++;
}

int fbx_box_list(fbx_box_name *names, size_t cap, size_t *count)
{
	if (count == NULL || (names == NULL && cap > 0))
		return FBX_EINVAL;
	*count = 0;
	DIR *d = opendir(SHM_DIR);
	if (d == NULL)
		return FBX_ESYS;
	size_t n = 0, kept = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		const char *name = e->d_name;
		if (strncmp(name, PREFIX, strlen(PREFIX)) != 0 ||
		    fbx_name_check_box(name + strlen(PREFIX)) != 0)
			continue;
		keep_sorted(names, cap, &kept, name + strlen(PREFIX));
		n++;
	}
	closedir(d);
	*count = n;
	return 0;
}
