/* SPDX-License-Identifier: MIT */
/*
 * proto-nngstat.c - what nng's statistics say about a socket. nng 1.5.2
 * counts written messages per pipe only (the socket's own tx_msgs stays
 * 0), so "how much has this socket written" is a sum over its pipes.
 */
#include <string.h>

#include "proto.h"

uint64_t
proto_stat_pipes_tx(nng_stat *all, nng_socket s)
{
	int id = nng_socket_id(s);
	uint64_t n = 0;

	for (nng_stat *st = nng_stat_child(all); st; st = nng_stat_next(st)) {
		nng_stat *sock, *tx;

		if (nng_stat_type(st) != NNG_STAT_SCOPE ||
		    strcmp(nng_stat_name(st), "pipe") != 0)
			continue;
		sock = nng_stat_find(st, "socket");
		tx = nng_stat_find(st, "tx_msgs");
		if (sock && tx && (int)nng_stat_value(sock) == id)
			n += nng_stat_value(tx);
	}
	return n;
}
