/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "api.h"

int main(int argc, char **argv)
{
	return api_cli_main(argc, argv);
}
