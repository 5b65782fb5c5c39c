/* SPDX-License-Identifier: GPL-3.0-or-later */
/* flow.h — private to solver/: Dinic's max-flow on small graphs (edge lists). */
#ifndef FULCRUM_SOLVER_FLOW_H
#define FULCRUM_SOLVER_FLOW_H

#include <stdbool.h>

struct flow_edge {
	int to;
	long cap;
};

struct flow_graph {
	int nv, ne, maxe;
	struct flow_edge *e;
	int *head, *next, *level, *it, *queue;
};

/* A graph of nv vertices with room for maxe arcs; FL_ENOMEM on failure. */
int flow_init(struct flow_graph *g, int nv, int maxe);
void flow_release(struct flow_graph *g);
/* Add an arc a→b of capacity cap; returns its index (for flow_on), -1 if full. */
int flow_add(struct flow_graph *g, int a, int b, long cap);
/* The maximum flow from s to t (the graph keeps the residual capacities). */
long flow_max(struct flow_graph *g, int s, int t);
/* The flow on arc `arc` after flow_max. */
long flow_on(const struct flow_graph *g, int arc);
/* After flow_max: v is on the source side of a minimum cut (reachable in the residual). */
bool flow_source_side(const struct flow_graph *g, int v);

#endif
