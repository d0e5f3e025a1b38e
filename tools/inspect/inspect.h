/*
** inspect.h -- sluice-inspect as a function, so tests/fuzz can drive its
** argument handling in process (main.c only calls it).
*/
#ifndef SLUICE_INSPECT_H
#define SLUICE_INSPECT_H

/* The whole program: argv as main() gets it; returns the exit status.
** Prints to stdout/stderr. */
int inspect_main(int argc, char **argv);

/* Test hook: > 0 makes `tail` return after that many idle polls (0, the
** default: follow until SIGINT/SIGTERM). */
extern long inspect_tail_polls_max;

#endif
