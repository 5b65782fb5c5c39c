/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Dinic's max-flow on small graphs, for the most units an order or a wave can fill. */
#include <stdlib.h>

#include "data/model.h"
#include "flow.h"

int flow_init(struct flow_graph *g, int nv, int maxe)
{
	g->nv = nv;
	g->ne = 0;
	g->maxe = maxe;
	g->e = malloc(sizeof(*g->e) * (size_t)(maxe + 1));
	g->head = malloc(sizeof(int) * (size_t)(nv + 1));
	g->next = malloc(sizeof(int) * (size_t)(maxe + 1));
	g->level = malloc(sizeof(int) * (size_t)(nv + 1));
	g->it = malloc(sizeof(int) * (size_t)(nv + 1));
	g->queue = malloc(sizeof(int) * (size_t)(nv + 1));
	if (!g->e || !g->head || !g->next || !g->level || !g->it || !g->queue) {
		flow_release(g);
		return FL_ENOMEM;
	}
	for (int v = 0; v < nv; v++)
		g->head[v] = -1;
	return 0;
}

void flow_release(struct flow_graph *g)
{
	free(g->e), free(g->head), free(g->next), free(g->level), free(g->it), free(g->queue);
	g->e = NULL, g->head = g->next = g->level = g->it = g->queue = NULL;
}

int flow_add(struct flow_graph *g, int a, int b, long cap)
{
	if (g->ne + 2 > g->maxe)
		return -1;
	g->e[g->ne] = (struct flow_edge){b, cap};
	g->next[g->ne] = g->head[a];
	g->head[a] = g->ne++;
	g->e[g->ne] = (struct flow_edge){a, 0};
	g->next[g->ne] = g->head[b];
	g->head[b] = g->ne++;
	return g->ne - 2;
}

static int bfs(struct flow_graph *g, int s, int t)
{
	int qh = 0, qt = 0;
	for (int v = 0; v < g->nv; v++)
		g->level[v] = -1;
	g->level[s] = 0;
	g->queue[qt++] = s;
	while (qh < qt) {
		int v = g->queue[qh++];
		for (int i = g->head[v]; i >= 0; i = g->next[i])
			if (g->e[i].cap > 0 && g->level[g->e[i].to] < 0) {
				g->level[g->e[i].to] = g->level[v] + 1;
				g->queue[qt++] = g->e[i].to;
			}
	}
	return g->level[t] >= 0;
}

static long dfs(struct flow_graph *g, int v, int t, long f)
{
	if (v == t)
		return f;
	for (; g->it[v] >= 0; g->it[v] = g->next[g->it[v]]) {
		int i = g->it[v];
		struct flow_edge *e = &g->e[i];
		if (e->cap <= 0 || g->level[e->to] != g->level[v] + 1)
			continue;
		long d = dfs(g, e->to, t, f < e->cap ? f : e->cap);
		if (d > 0) {
			e->cap -= d;
			g->e[i ^ 1].cap += d;
			return d;
		}
	}
	return 0;
}

long flow_max(struct flow_graph *g, int s, int t)
{
	long total = 0, f;
	while (bfs(g, s, t)) {
		for (int v = 0; v < g->nv; v++)
			g->it[v] = g->head[v];
		while ((f = dfs(g, s, t, (long)1 << 60)) > 0)
			total += f;
	}
	return total;
}

long flow_on(const struct flow_graph *g, int arc)
{
	return arc >= 0 ? g->e[arc ^ 1].cap : 0;
}

bool flow_source_side(const struct flow_graph *g, int v)
{
	return g->level[v] >= 0; /* flow_max's last search stopped short of the sink */
}
