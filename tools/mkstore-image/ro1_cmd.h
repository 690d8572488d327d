/*
 * `mkstore-image ro1 ...`: build, list and check CAPOSRO1 images
 * (docs/caposro1.md). The dispatcher in main.c passes argv starting at the
 * subcommand name, getopt-style:
 *   ro1_cmd_build: argv = { "build", SRCDIR, IMAGE }
 *   ro1_cmd_list:  argv = { "list", IMAGE }
 *   ro1_cmd_check: argv = { "check", IMAGE }
 * Each returns the process exit status: 0 success (check: image clean),
 * 1 failure (check: problems found, each printed), 2 usage error.
 */
#ifndef CAPOS_MKSTORE_IMAGE_RO1_CMD_H
#define CAPOS_MKSTORE_IMAGE_RO1_CMD_H

int ro1_cmd_build(int argc, char **argv);
int ro1_cmd_list(int argc, char **argv);
int ro1_cmd_check(int argc, char **argv);

#endif
