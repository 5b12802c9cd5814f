/* busguard.h — reading a box that someone may truncate under us.
 *
 * Anyone with write access to a box can cut its object short; touching the
 * mapping past the new end raises SIGBUS.  The library checks the size
 * before each read, but a truncation during the read itself still faults.
 * The tool and the console run their reads through bus_guard(), which
 * turns that fault into FBX_ETRUNC so they can say so and reattach.  Only
 * reads of the mapping go through it: they hold no lock and allocate
 * nothing, so leaving one midway is safe. */
#ifndef FBX_BUSGUARD_H
#define FBX_BUSGUARD_H

/* fn(arg)'s result, or FBX_ETRUNC if it faulted on the mapping. */
int bus_guard(int (*fn)(void *arg), void *arg);

#endif
