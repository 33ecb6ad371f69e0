#include <errno.h>
#include <pwd.h>
#include <stdio.h>

#include <cap-ng.h>

#include "privs.h"

int
privs_drop(const char *user, char *err, size_t errlen)
{
	struct passwd *pw = getpwnam(user);
	int ret;

	if (pw == NULL) {
		snprintf(err, errlen, "user %s: no such user", user);
		return -ENOENT;
	}
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED,
	    CAP_NET_ADMIN, CAP_NET_RAW, -1) != 0) {
		snprintf(err, errlen, "capabilities: cannot select them");
		return -EINVAL;
	}
	/* Keeps the selected capabilities across the uid change, drops the
	 * supplementary groups and empties the bounding set. */
	ret = capng_change_id((int)pw->pw_uid, (int)pw->pw_gid,
	    CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
	if (ret != 0) {
		snprintf(err, errlen, "dropping to user %s failed (libcap-ng "
		    "error %d)", user, ret);
		return -EPERM;
	}
	return 0;
}
