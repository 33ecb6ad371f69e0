/* Logging: stderr in the foreground, syslog otherwise. Per-packet warnings
 * go through log_ratelimited() so a flood of bad packets cannot flood the
 * log. */
#ifndef OVT_LOG_H
#define OVT_LOG_H

#include <stdint.h>
#include <syslog.h>

void	log_init(int verbosity);
void	log_to_syslog(void);
void	log_msg(int prio, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* One per message site and thread: at most LOG_RATE_BURST messages per
 * second, then a single "suppressed N" line when the site speaks again. */
struct log_ratelimit {
	uint64_t	window_start_ms;
	unsigned	in_window;
	unsigned	suppressed;
};
#define LOG_RATE_BURST	5

void	log_ratelimited(struct log_ratelimit *, int prio, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)	log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

/* A rate-limited message with its own state at the call site, per thread:
 * the workers never share it. */
#define log_rl(prio, ...) do {						\
	static _Thread_local struct log_ratelimit log_rl_site__;	\
	log_ratelimited(&log_rl_site__, (prio), __VA_ARGS__);		\
} while (0)

#endif
