#ifndef LOFT_LOFTADM_H
#define LOFT_LOFTADM_H
/* loftadm commands. Each takes the arguments after its name (argv[0] is
   the command name) and returns the process exit code. */
#include "lib.h"

#define LOFTADM_EX_USAGE 64
#define LOFTADM_EX_FATAL 89

/* "loftadm pw": doveadm pw compatible password hashing. */
int cmd_pw(int argc, char *argv[]);

void loftadm_fatal(const char *fmt, ...) ATTR_FORMAT(1, 2) ATTR_NORETURN;

#endif
