/* placeholder: being written */
#include "cli/cli.h"
int cmd_template(int argc, char **argv, struct err *e) { return err_set(e, ENOSYS, "not yet"); }
