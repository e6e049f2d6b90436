/* SPDX-License-Identifier: MIT */
/*
 * proto-samples.c - one sample payload per message type, shared by the
 * round-trip tests and the fuzzer's seed corpus. A new type without a
 * sample makes proto_sample_pack() return -ENOENT and the tests fail.
 */
#include <errno.h>

#include "proto-agent.h"
#include "proto-ctl.h"
#include "proto-host.h"
#include "proto-link.h"
#include "proto-samples.h"

const char proto_sample_body[] = { (char)0x82, (char)0xa1, 'k', 0x01,
				 (char)0xa1, 'l', (char)0x92, (char)0xc3,
				 (char)0xc0 }; /* {"k":1,"l":[true,nil]} */
const size_t proto_sample_body_len = sizeof(proto_sample_body);
const char *const proto_sample_names[3] = { "worker", "db@2", "web-*" };

const struct proto_status_record proto_sample_records[2] = {
	{ .name = "worker", .group = "g1", .state = "running", .pid = 1234,
	  .restarts = 2, .uptime_ms = 987654321ull, .last_exit = "exited 0" },
	{ .name = "db@2", .group = "", .state = "inactive", .pid = 0,
	  .restarts = 0, .uptime_ms = 0, .last_exit = "" },
};

const struct proto_event_record proto_sample_events[2] = {
	{ .seq = 41, .realtime_usec = 1795000000123456ull, .name = "worker",
	  .from = "starting", .to = "running", .detail = "pid 1234" },
	{ .seq = 42, .realtime_usec = 1795000000223456ull, .name = "db@2",
	  .from = "running", .to = "backoff", .detail = "exited 1 (failed)" },
};
const char *const proto_sample_lines[3] = { "hello", "", "w\xc3\xb6rld \t!" };

int
proto_sample_pack(uint32_t type, msgpack_packer *pk)
{
	switch ((enum proto_msgtype)type) {
	case PROTO_MSG_HELLO: {
		struct proto_hello m = { .name = "worker@3", .pid = 4242,
					 .inbox = "ipc:///r/inbox/w.sock",
					 .inbox_len = 21 };
		return proto_hello_pack(pk, &m);
	}
	case PROTO_MSG_RESOLVE:
	case PROTO_MSG_HOST_RESOLVE: {
		struct proto_resolve m = { "worker@3", 8 };
		return proto_resolve_pack(pk, &m);
	}
	case PROTO_MSG_MONITOR: {
		struct proto_monitor m = { "db", 2, true };
		return proto_monitor_pack(pk, &m);
	}
	case PROTO_MSG_RESOLVE_REPLY:
	case PROTO_MSG_PEER_STATE: {
		struct proto_peer m = { "worker@3", 8, "ipc:///r/inbox/worker@3.sock",
					28, 4242, "running", 7 };
		return proto_peer_pack(pk, &m);
	}
	case PROTO_MSG_HOST_RESOLVE_REPLY: {
		struct proto_host_peer m = {
			.name = "worker@3", .name_len = 8,
			.urls = { .url = { "tcp://0.0.0.0:4000",
					   "tls+tcp://[::]:4001" },
				  .len = { 18, 19 }, .n = 2 },
			.pid = 4242, .state = "running", .state_len = 7,
		};
		return proto_host_peer_pack(pk, &m);
	}
	case PROTO_MSG_HELLO_ACK: {
		struct proto_hello_ack m = { 5000000, UINT64_MAX };
		return proto_hello_ack_pack(pk, &m);
	}
	case PROTO_MSG_READY:
	case PROTO_MSG_CTL_RELOAD:
	case PROTO_MSG_CTL_SHUTDOWN:
		return proto_empty_pack(pk);
	case PROTO_MSG_HEARTBEAT: {
		struct proto_heartbeat m = { (uint64_t)1 << 40 };
		return proto_heartbeat_pack(pk, &m);
	}
	case PROTO_MSG_STOPPING:
	case PROTO_MSG_STATUS_TEXT: {
		struct proto_text m = { "stopping: flushing", 18 };
		return proto_text_pack(pk, &m);
	}
	case PROTO_MSG_INTERRUPT: {
		struct proto_interrupt m = { PROTO_LEVEL_FLAG };
		return proto_interrupt_pack(pk, &m);
	}
	case PROTO_MSG_EXIT_REPORT: {
		struct proto_exit_report m = { PROTO_EXIT_FAILED, -ENOENT,
					       "no such file", 12 };
		return proto_exit_report_pack(pk, &m);
	}
	case PROTO_MSG_VERSION: {
		struct proto_version m = { PROTO_VERSION };
		return proto_version_pack(pk, &m);
	}
	case PROTO_MSG_CTL_STATUS:
	case PROTO_MSG_CTL_START:
	case PROTO_MSG_CTL_STOP:
	case PROTO_MSG_CTL_RESTART:
	case PROTO_MSG_CTL_RESET_FAILED: {
		struct proto_names m = { proto_sample_names, 3 };
		return proto_names_pack(pk, &m);
	}
	case PROTO_MSG_CTL_STATUS_REPLY:
		if (msgpack_pack_array(pk, 2) < 0)
			return -ENOMEM;
		for (int i = 0; i < 2; i++) {
			int r = proto_status_record_pack(pk, &proto_sample_records[i]);
			if (r < 0)
				return r;
		}
		return 0;
	case PROTO_MSG_CTL_RESULT:
	case PROTO_MSG_CTL_ERROR:
	case PROTO_MSG_ERROR: {
		struct proto_result m = { -ESRCH, "no such agent: foo", 18 };
		return proto_result_pack(pk, &m);
	}
	case PROTO_MSG_CTL_KILL: {
		struct proto_kill m = { 15, { proto_sample_names, 3 } };
		return proto_kill_pack(pk, &m);
	}
	case PROTO_MSG_CTL_EVENTS: {
		struct proto_events_req m = { 41, 100, 5000 };
		return proto_events_req_pack(pk, &m);
	}
	case PROTO_MSG_CTL_EVENTS_REPLY: {
		struct proto_seq_head h = { 40, 43, 2, 2 };
		int r = proto_seq_head_pack(pk, &h);
		for (int i = 0; i < 2 && r == 0; i++)
			r = proto_event_record_pack(pk, &proto_sample_events[i]);
		return r;
	}
	case PROTO_MSG_CTL_LOGS: {
		struct proto_logs_req m = { .name = "db@2", .lines = 10,
					    .since_seq = 7, .wait_ms = 250 };
		return proto_logs_req_pack(pk, &m);
	}
	case PROTO_MSG_CTL_LOGS_REPLY: {
		struct proto_seq_head h = { 1, 9, 0, 3 };
		int r = proto_seq_head_pack(pk, &h);
		for (int i = 0; i < 3 && r == 0; i++)
			r = proto_pack_cstr(pk, proto_sample_lines[i]);
		return r;
	}
	case PROTO_MSG_EVENT: {
		struct proto_event m = { "job.done", 8, proto_sample_body,
					 proto_sample_body_len };
		return proto_event_pack(pk, &m);
	}
	case PROTO_MSG_REQUEST: {
		struct proto_request m = { "lookup", 6, "ipc:///r/i/a.sock", 17,
					   2500, proto_sample_body, proto_sample_body_len };
		return proto_request_pack(pk, &m);
	}
	case PROTO_MSG_RESPONSE: {
		struct proto_response m = { proto_sample_body, proto_sample_body_len };
		return proto_response_pack(pk, &m);
	}
	}
	return -ENOENT;
}
