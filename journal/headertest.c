#include "sluice/journal.h"
int sluice_headertest_dummy(void);
int sluice_headertest_dummy(void) { return JR_OK; }
