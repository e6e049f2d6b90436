/* SPDX-License-Identifier: MIT */
/*
 * fuzz-seed.c - write the seed corpus of the envelope fuzzer: one valid
 * encoded message per message type (the test samples), plus one batch of
 * three envelopes, into DIR.
 *	fuzz-seed DIR
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "proto-link.h"
#include "proto-samples.h"

static const uint32_t all_types[] = {
#define XX_TYPE(name, num, str, fam) PROTO_MSG_##name,
	PROTO_MSGTYPE_MAP(XX_TYPE)
#undef XX_TYPE
};

static int
write_file(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[4096];
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/seed-%s", dir, name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "we");
	if (!f)
		return -errno;
	if (fwrite(buf, 1, len, f) != len) {
		fclose(f);
		return -EIO;
	}
	return fclose(f) == 0 ? 0 : -errno;
}

int
main(int argc, char **argv)
{
	struct proto_builder b;
	nng_msg *msg, *batch = NULL;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	for (size_t i = 0; i < sizeof(all_types) / sizeof(all_types[0]); i++) {
		uint32_t t = all_types[i];

		r = proto_builder_begin(&b, t, 0, i, "seed");
		if (r < 0)
			goto fail;
		r = proto_sample_pack(t, &b.pk);
		if (r < 0) {
			proto_builder_abort(&b);
			goto fail;
		}
		r = proto_builder_finish(&b, &msg);
		if (r < 0)
			goto fail;
		r = write_file(argv[1], proto_msgtype_to_string(t),
			       nng_msg_body(msg), nng_msg_len(msg));
		nng_msg_free(msg);
		if (r < 0)
			goto fail;
	}

	for (uint64_t i = 1; i <= 3; i++) {
		struct proto_heartbeat hb = { i };
		r = batch ? proto_builder_begin_append(&b, batch,
						       PROTO_MSG_HEARTBEAT,
						       i < 3 ? PROTO_F_BATCH : 0,
						       i, "w")
			  : proto_builder_begin(&b, PROTO_MSG_HEARTBEAT,
						PROTO_F_BATCH, i, "w");
		if (r < 0)
			goto fail;
		r = proto_heartbeat_pack(&b.pk, &hb);
		if (r < 0) {
			proto_builder_abort(&b);
			goto fail;
		}
		r = proto_builder_finish(&b, &msg);
		if (r < 0)
			goto fail;
		batch = msg;
	}
	r = write_file(argv[1], "batch", nng_msg_body(batch),
		       nng_msg_len(batch));
	nng_msg_free(batch);
	batch = NULL;
	if (r < 0)
		goto fail;
	return 0;
fail:
	if (batch)
		nng_msg_free(batch);
	fprintf(stderr, "fuzz-seed: %s\n", strerror(-r));
	return 1;
}
