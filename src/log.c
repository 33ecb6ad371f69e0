#include <sys/stat.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

static int log_max_prio = LOG_NOTICE;
static int log_syslog;
static int log_levels;	/* "<N>" before each line: stderr is the journal */

/* systemd names the journal stream it connected stderr to in
 * JOURNAL_STREAM, as "device:inode" (systemd.exec(5)): then each line
 * gets its level as a "<N>" prefix, which the journal takes off and
 * keeps (journalctl -p). A terminal or a file gets plain lines. */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
	    fstat(STDERR_FILENO, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(int verbosity)
{
	/* -v shows info, -vv debug. */
	log_max_prio = LOG_NOTICE + verbosity;
	if (log_max_prio > LOG_DEBUG)
		log_max_prio = LOG_DEBUG;
	log_levels = stderr_is_journal();
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
	if (log_levels)
		fprintf(stderr, "<%d>", prio);
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
