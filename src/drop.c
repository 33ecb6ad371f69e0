#include "drop.h"

static const char *const drop_names[DROP__COUNT] = {
#define DROP_NAME(id, name)	[DROP_##id] = name,
	DROP_REASONS(DROP_NAME)
#undef DROP_NAME
};

const char *
drop_name(enum drop_reason reason)
{
	if ((unsigned)reason >= DROP__COUNT)
		return "invalid";
	return drop_names[reason];
}
