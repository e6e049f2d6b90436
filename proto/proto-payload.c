/* SPDX-License-Identifier: MIT */
/*
 * proto-payload.c - which payload schema each message type carries, and a
 * validator that runs the matching unpacker over a payload.
 */
#include "proto-internal.h"
#include "proto-agent.h"
#include "proto-ctl.h"
#include "proto-host.h"
#include "proto-link.h"

int
proto_payload_validate(uint32_t type, const void *payload, size_t len)
{
	struct proto_reader rd;
	union {
		struct proto_hello hello;
		struct proto_hello_ack hello_ack;
		struct proto_heartbeat heartbeat;
		struct proto_interrupt interrupt;
		struct proto_text text;
		struct proto_version version;
		struct proto_exit_report exit_report;
		struct proto_resolve resolve;
		struct proto_monitor monitor;
		struct proto_peer peer;
		struct proto_host_peer host_peer;
		struct proto_result result;
		struct proto_event event;
		struct proto_request request;
		struct proto_response response;
		struct proto_events_req events_req;
		struct proto_logs_req logs_req;
	} u;
	int32_t sig;
	int r = -EBADMSG;

	if (!proto_msgtype_to_string(type))
		return -EBADMSG;
	proto_reader_init(&rd, payload, len);
	/* No default: -Wswitch flags a type added without a schema here. */
	switch ((enum proto_msgtype)type) {
	case PROTO_MSG_HELLO:
		r = proto_hello_unpack(&rd, &u.hello);
		break;
	case PROTO_MSG_HELLO_ACK:
		r = proto_hello_ack_unpack(&rd, &u.hello_ack);
		break;
	case PROTO_MSG_READY:
	case PROTO_MSG_CTL_RELOAD:
	case PROTO_MSG_CTL_SHUTDOWN:
		r = proto_empty_unpack(&rd);
		break;
	case PROTO_MSG_HEARTBEAT:
		r = proto_heartbeat_unpack(&rd, &u.heartbeat);
		break;
	case PROTO_MSG_STOPPING:
	case PROTO_MSG_STATUS_TEXT:
		r = proto_text_unpack(&rd, &u.text);
		break;
	case PROTO_MSG_INTERRUPT:
		r = proto_interrupt_unpack(&rd, &u.interrupt);
		break;
	case PROTO_MSG_EXIT_REPORT:
		r = proto_exit_report_unpack(&rd, &u.exit_report);
		break;
	case PROTO_MSG_VERSION:
		r = proto_version_unpack(&rd, &u.version);
		break;
	case PROTO_MSG_RESOLVE:
	case PROTO_MSG_HOST_RESOLVE:
		r = proto_resolve_unpack(&rd, &u.resolve);
		break;
	case PROTO_MSG_MONITOR:
		r = proto_monitor_unpack(&rd, &u.monitor);
		break;
	case PROTO_MSG_RESOLVE_REPLY:
	case PROTO_MSG_PEER_STATE:
		r = proto_peer_unpack(&rd, &u.peer);
		break;
	case PROTO_MSG_HOST_RESOLVE_REPLY:
		r = proto_host_peer_unpack(&rd, &u.host_peer);
		break;
	case PROTO_MSG_CTL_STATUS:
	case PROTO_MSG_CTL_START:
	case PROTO_MSG_CTL_STOP:
	case PROTO_MSG_CTL_RESTART:
	case PROTO_MSG_CTL_RESET_FAILED:
		r = proto_names_unpack(&rd, NULL, NULL);
		break;
	case PROTO_MSG_CTL_STATUS_REPLY:
		r = proto_status_reply_unpack(&rd, NULL, NULL);
		break;
	case PROTO_MSG_CTL_RESULT:
	case PROTO_MSG_CTL_ERROR:
	case PROTO_MSG_ERROR:
		r = proto_result_unpack(&rd, &u.result);
		break;
	case PROTO_MSG_CTL_KILL:
		r = proto_kill_unpack(&rd, &sig, NULL, NULL);
		break;
	case PROTO_MSG_CTL_EVENTS:
		r = proto_events_req_unpack(&rd, &u.events_req);
		break;
	case PROTO_MSG_CTL_EVENTS_REPLY:
		r = proto_events_reply_unpack(&rd, NULL, NULL, NULL);
		break;
	case PROTO_MSG_CTL_LOGS:
		r = proto_logs_req_unpack(&rd, &u.logs_req);
		break;
	case PROTO_MSG_CTL_LOGS_REPLY:
		r = proto_logs_reply_unpack(&rd, NULL, NULL, NULL);
		break;
	case PROTO_MSG_EVENT:
		r = proto_event_unpack(&rd, &u.event);
		break;
	case PROTO_MSG_REQUEST:
		r = proto_request_unpack(&rd, &u.request);
		break;
	case PROTO_MSG_RESPONSE:
		r = proto_response_unpack(&rd, &u.response);
		break;
	}
	return r < 0 ? -EBADMSG : 0;
}
