/* SPDX-License-Identifier: MIT */
/*
 * proto-msgtypes.h - the one table of message types.
 *
 * PROTO_MSGTYPE_MAP(XX) expands XX(NAME, number, "wire-name", family) once
 * per message. It generates enum proto_msgtype, the names used in logs and
 * by agentctl (proto_msgtype_to_string / _from_string), and the family
 * checks of the decoder. Numbers never change and are never reused:
 *   100..199  agent  <-> agentd  (lifecycle, on the link socket)
 *   200..299  agentctl <-> agentd (control socket), and a host's name
 *             server (agentd --listen: HOST_RESOLVE, on its own socket)
 *   300..399  agent  <-> agent   (inboxes)
 * Adding a message: add a line here (bump nothing); changing the payload of
 * an existing one: bump PROTO_VERSION in proto.h.
 */
#ifndef PROTO_MSGTYPES_H
#define PROTO_MSGTYPES_H

enum proto_family {
	PROTO_FAMILY_LINK = 1,  /* agent <-> agentd */
	PROTO_FAMILY_CTL = 2,   /* agentctl <-> agentd */
	PROTO_FAMILY_AGENT = 3, /* agent <-> agent */
};

/* clang-format off */
#define PROTO_MSGTYPE_MAP(XX)                                                   \
	/* agent <-> agentd */                                                  \
	XX(HELLO,          100, "hello",          PROTO_FAMILY_LINK)            \
	XX(HELLO_ACK,      101, "hello-ack",      PROTO_FAMILY_LINK)            \
	XX(READY,          102, "ready",          PROTO_FAMILY_LINK)            \
	XX(HEARTBEAT,      103, "heartbeat",      PROTO_FAMILY_LINK)            \
	XX(STOPPING,       104, "stopping",       PROTO_FAMILY_LINK)            \
	XX(INTERRUPT,      105, "interrupt",      PROTO_FAMILY_LINK)            \
	XX(EXIT_REPORT,    106, "exit-report",    PROTO_FAMILY_LINK)            \
	XX(VERSION,        107, "version",        PROTO_FAMILY_LINK)            \
	XX(STATUS_TEXT,    108, "status-text",    PROTO_FAMILY_LINK)            \
	XX(RESOLVE,        109, "resolve",        PROTO_FAMILY_LINK)            \
	XX(RESOLVE_REPLY,  110, "resolve-reply",  PROTO_FAMILY_LINK)            \
	XX(MONITOR,        111, "monitor",        PROTO_FAMILY_LINK)            \
	XX(PEER_STATE,     112, "peer-state",     PROTO_FAMILY_LINK)            \
	/* agentctl <-> agentd */                                               \
	XX(CTL_STATUS,     200, "status",         PROTO_FAMILY_CTL)             \
	XX(CTL_STATUS_REPLY, 201, "status-reply", PROTO_FAMILY_CTL)             \
	XX(CTL_START,      202, "start",          PROTO_FAMILY_CTL)             \
	XX(CTL_STOP,       203, "stop",           PROTO_FAMILY_CTL)             \
	XX(CTL_RESTART,    204, "restart",        PROTO_FAMILY_CTL)             \
	XX(CTL_RESULT,     205, "result",         PROTO_FAMILY_CTL)             \
	XX(CTL_ERROR,      206, "error",          PROTO_FAMILY_CTL)             \
	XX(CTL_KILL,       207, "kill",           PROTO_FAMILY_CTL)             \
	XX(CTL_RESET_FAILED, 208, "reset-failed", PROTO_FAMILY_CTL)             \
	XX(CTL_RELOAD,     209, "reload",         PROTO_FAMILY_CTL)             \
	XX(CTL_SHUTDOWN,   210, "shutdown",       PROTO_FAMILY_CTL)             \
	XX(CTL_EVENTS,     211, "events",         PROTO_FAMILY_CTL)             \
	XX(CTL_EVENTS_REPLY, 212, "events-reply", PROTO_FAMILY_CTL)             \
	XX(CTL_LOGS,       213, "logs",           PROTO_FAMILY_CTL)             \
	XX(CTL_LOGS_REPLY, 214, "logs-reply",     PROTO_FAMILY_CTL)             \
	/* a client -> agentd's name server (--listen), proto-host.h */         \
	XX(HOST_RESOLVE,   215, "host-resolve",   PROTO_FAMILY_CTL)             \
	XX(HOST_RESOLVE_REPLY, 216, "host-resolve-reply", PROTO_FAMILY_CTL)     \
	/* agent <-> agent */                                                   \
	XX(EVENT,          300, "event",          PROTO_FAMILY_AGENT)           \
	XX(REQUEST,        301, "request",        PROTO_FAMILY_AGENT)           \
	XX(RESPONSE,       302, "response",       PROTO_FAMILY_AGENT)           \
	XX(ERROR,          303, "error-response", PROTO_FAMILY_AGENT)
/* clang-format on */

enum proto_msgtype {
#define PROTO_XX_ENUM(name, num, str, fam) PROTO_MSG_##name = num,
	PROTO_MSGTYPE_MAP(PROTO_XX_ENUM)
#undef PROTO_XX_ENUM
};

#endif
