/* term.h — text bound for an operator's terminal.
 *
 * Error messages repeat what the user typed (box names, options, rules);
 * an escape sequence or a carriage return in it would be obeyed by the
 * terminal, and a newline would break the one-line rule.  Both programs
 * write such text through term_put(). */
#ifndef FBX_TERM_H
#define FBX_TERM_H

#include <stdio.h>

/* Writes s to f with every control character (C0 and DEL) as \xHH. */
void term_put(FILE *f, const char *s);

#endif
