#include <stdarg.h>
#include <stdio.h>

#include "clock.h"
#include "log.h"

static int log_max_prio = LOG_NOTICE;
static int log_syslog;

void
log_init(int verbosity)
{
	/* -v shows info, -vv debug. */
	log_max_prio = LOG_NOTICE + verbosity;
	if (log_max_prio > LOG_DEBUG)
		log_max_prio = LOG_DEBUG;
}

void
log_to_syslog(void)
{
	openlog("ovtund", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = 1;
}

static void
log_vmsg(int prio, const char *fmt, va_list ap)
{
	if (prio > log_max_prio)
		return;
	if (log_syslog) {
		vsyslog(prio, fmt, ap);
		return;
	}
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, fmt, ap);
	va_end(ap);
}

void
log_ratelimited(struct log_ratelimit *rl, int prio, const char *fmt, ...)
{
	uint64_t now = clock_ms();
	va_list ap;

	if (prio > log_max_prio)
		return;
	if (now - rl->window_start_ms >= 1000) {
		if (rl->suppressed > 0)
			log_msg(prio, "(%u similar messages suppressed)",
			    rl->suppressed);
		rl->window_start_ms = now;
		rl->in_window = 0;
		rl->suppressed = 0;
	}
	if (rl->in_window >= LOG_RATE_BURST) {
		rl->suppressed++;
		return;
	}
	rl->in_window++;
	va_start(ap, fmt);
	log_vmsg(prio, fmt, ap);
	va_end(ap);
}
