/* placeholder */
#include "cli/cli.h"
int cmd_start(int argc, char **argv, struct err *e) { return err_set(e, ENOSYS, "not yet"); }
int cmd_stop(int argc, char **argv, struct err *e) { return err_set(e, ENOSYS, "not yet"); }
int cmd_kill(int argc, char **argv, struct err *e) { return err_set(e, ENOSYS, "not yet"); }
int cmd_restart(int argc, char **argv, struct err *e) { return err_set(e, ENOSYS, "not yet"); }
