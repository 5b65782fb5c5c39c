/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * api.h — the composition root's own header: the CLI, the HTTP service, the flows.
 * api/ is the only module that knows all the others; nothing includes this header
 * outside api/ except tests and fuzz targets.
 */
#ifndef FULCRUM_API_API_H
#define FULCRUM_API_API_H

#include "data/store.h"

/* The CLI: returns the process exit status (0 ok, 1 failure, 2 usage). */
int api_cli_main(int argc, char **argv);

/* Further CLI commands defined beside the code they drive. */
#define API_CLI_COMMANDS

#endif
