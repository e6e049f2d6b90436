/* SPDX-License-Identifier: MIT */
/*
 * proto-samples.h - sample payloads per message type (tests and fuzz seeds).
 */
#ifndef TESTS_PROTO_SAMPLES_H
#define TESTS_PROTO_SAMPLES_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "proto-ctl.h"

extern const char proto_sample_body[];
extern const size_t proto_sample_body_len;
extern const char *const proto_sample_names[3];
extern const struct proto_status_record proto_sample_records[2];
extern const struct proto_event_record proto_sample_events[2];
extern const char *const proto_sample_lines[3];

/* Pack the sample payload of `type`: 0, -ENOENT if the type has none. */
int proto_sample_pack(uint32_t type, msgpack_packer *pk);

#endif
