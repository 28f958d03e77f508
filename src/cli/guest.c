/* placeholder */
#include "cli/cli.h"
int cmd_create(int argc, char **argv, struct err *e) { return err_set(e, ENOSYS, "not yet"); }
int cmd_destroy(int argc, char **argv, struct err *e) { return err_set(e, ENOSYS, "not yet"); }
int cmd_set(int argc, char **argv, struct err *e) { return err_set(e, ENOSYS, "not yet"); }
int cmd_list(int argc, char **argv, struct err *e) { return err_set(e, ENOSYS, "not yet"); }
int cmd_status(int argc, char **argv, struct err *e) { return err_set(e, ENOSYS, "not yet"); }
