#ifndef CORE_H
#define CORE_H

/* The shared pieces every module uses. */

#include "core/core_action.h"
#include "core/core_buf.h"
#include "core/core_clock.h"
#include "core/core_identity.h"
#include "core/core_json.h"
#include "core/core_limits.h"
#include "core/core_log.h"
#include "core/core_partition.h"
#include "core/core_reply.h"
#include "core/core_result.h"
#include "core/core_secmem.h"
#include "core/core_tlcache.h"
#include "core/core_wire.h"

#endif
