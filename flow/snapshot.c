/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The snapshot of reference data (nodes, SKUs, zones, rates) every decision reads:
 * built from the store, immutable, reference counted, swapped whole when an import has
 * committed since it was built (in this process or another).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow.h"

static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct flow_snapshot *snap_current;

static void snapshot_free(struct flow_snapshot *s)
{
	if (!s)
		return;
	free(s->nodes);
	free(s->skus);
	free(s->zones);
	free(s->rates);
	free(s);
}

int flow_snapshot_load(struct store *st, struct flow_snapshot **out, struct fl_err *err)
{
	struct flow_snapshot *s = calloc(1, sizeof(*s));
	int rc;
	*out = NULL;
	if (!s)
		return fl_err_set(err, FL_ENOMEM, "snapshot: out of memory");
	if ((rc = store_import_generation(st, &s->generation, err)) ||
	    (rc = store_nodes_load(st, &s->nodes, &s->nnodes, err)) ||
	    (rc = store_skus_load(st, &s->skus, &s->nskus, err)) ||
	    (rc = store_zones_load(st, &s->zones, &s->nzones, err)) ||
	    (rc = store_rates_load(st, &s->rates, &s->nrates, err))) {
		snapshot_free(s);
		return rc;
	}
	atomic_init(&s->refs, 1);
	*out = s;
	return 0;
}

struct flow_snapshot *flow_snapshot_get(struct store *st, struct fl_err *err)
{
	int64_t gen;
	if (store_import_generation(st, &gen, err))
		return NULL;
	pthread_mutex_lock(&snap_lock);
	if (!snap_current || snap_current->generation != gen) {
		struct flow_snapshot *fresh;
		if (flow_snapshot_load(st, &fresh, err)) {
			pthread_mutex_unlock(&snap_lock);
			return NULL;
		}
		flow_snapshot_put(snap_current);
		snap_current = fresh;
	}
	struct flow_snapshot *s = snap_current;
	atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&snap_lock);
	return s;
}

void flow_snapshot_put(struct flow_snapshot *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1)
		snapshot_free(s);
}

void flow_snapshot_drop(void)
{
	pthread_mutex_lock(&snap_lock);
	struct flow_snapshot *old = snap_current;
	snap_current = NULL;
	pthread_mutex_unlock(&snap_lock);
	flow_snapshot_put(old);
}

static int cmp_sku_id(const void *key, const void *elem)
{
	return strcmp(key, ((const struct fl_sku *)elem)->id);
}

static int cmp_node_id(const void *key, const void *elem)
{
	return strcmp(key, ((const struct fl_node *)elem)->id);
}

long flow_snapshot_node(const struct flow_snapshot *s, const char *id)
{
	const struct fl_node *n =
		id ? bsearch(id, s->nodes, s->nnodes, sizeof(*s->nodes), cmp_node_id) : NULL;
	return n ? n - s->nodes : -1;
}

long flow_snapshot_sku(const struct flow_snapshot *s, const char *id)
{
	const struct fl_sku *k =
		id ? bsearch(id, s->skus, s->nskus, sizeof(*s->skus), cmp_sku_id) : NULL;
	return k ? k - s->skus : -1;
}
