/* client.c — a program built against an installed fusebox (tests/install/
 * check.sh): it must link and run with what `make install` put in place. */
#include <fusebox.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	fbx_box *box;
	fbx_breaker *b;
	fbx_permit p;
	int rc = fbx_box_open(argv[1], FBX_OPEN_CREATE | FBX_OPEN_EXCL, NULL, &box);
	if (rc == 0) {
		fbx_breaker_config bc;
		fbx_breaker_config_init(&bc);
		if ((rc = fbx_breaker_register(box, "upstream", &bc, &b)) == 0 &&
		    (rc = fbx_breaker_allow(b, &p)) == 0)
			rc = fbx_breaker_done(b, &p, FBX_SUCCESS, 0);
		fbx_box_unlink(argv[1]);
		fbx_box_close(box);
	}
	if (rc != 0) {
		fprintf(stderr, "client: %s\n", fbx_strerror(rc));
		return 1;
	}
	/* the library that ran is the one the header came with */
	if (strcmp(fbx_version(), FBX_VERSION_STRING) != 0) {
		fprintf(stderr, "client: library %s, header %s\n", fbx_version(), FBX_VERSION_STRING);
		return 1;
	}
	printf("client: fusebox %s\n", fbx_version());
	return 0;
}
