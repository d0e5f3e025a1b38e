/*
** main.c -- sluice-inspect's entry point (the program is inspect.c).
*/
#include "inspect.h"

int main(int argc, char **argv)
{
    return inspect_main(argc, argv);
}
