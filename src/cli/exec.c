/* placeholder */
#include "cli/cli.h"
int cmd_exec(int argc, char **argv, struct err *e) { return err_set(e, ENOSYS, "not yet"); }
int cmd_console(int argc, char **argv, struct err *e) { return err_set(e, ENOSYS, "not yet"); }
int cmd_run(int argc, char **argv, struct err *e) { return err_set(e, ENOSYS, "not yet"); }
