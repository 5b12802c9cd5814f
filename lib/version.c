/* version.c — which library is loaded, for programs and bug reports. */
#include "fusebox.h"

const char *fbx_version(void)
{
	return FBX_VERSION_STRING;
}
