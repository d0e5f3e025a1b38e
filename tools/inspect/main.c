/*
** main.c -- sluice-inspect's entry point (the program is inspect.c).
**
** INVARIANTS: none of its own; inspect_main() holds them (inspect.c), so
** the fuzz target and the tests run exactly what the program runs.
*/
#include "inspect.h"

int main(int argc, char **argv)
{
    return inspect_main(argc, argv);
}
