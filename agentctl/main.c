/* SPDX-License-Identifier: MIT */
/* main.c - agentctl's entry point (the rest is a library for tests). */
#include "agentctl.h"

int
main(int argc, char **argv)
{
	return agentctl_main(argc, argv);
}
