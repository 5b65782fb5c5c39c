/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The demo data set: a US network of DCs and stores at real city coordinates, SKUs with
 * realistic weights and some hazmat, parcel-carrier zone bands and rate cards, lanes,
 * two years of daily sales per (node, SKU), and the stores' Christmas Days closed.
 *
 * Determinism: every random draw is a hash of (seed, stream, index) — a counter-based
 * generator — so the bytes depend only on the options, never on the order of work.
 * Sales are Poisson draws around a level × weekly profile × trend; most SKUs are slow
 * movers (intermittent), some die out part-way through (obsolescence), and the weekly
 * profile of stores peaks at the weekend like the M5 store × department series.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "store.h"

struct city {
	const char *code, *name, *region;
	double lat, lon;
};

/* Hubs first (DCs take cities from the front), then store cities. */
static const struct city cities[] = {
	{"ATL", "Atlanta", "southeast", 33.7490, -84.3880},
	{"CHI", "Chicago", "midwest", 41.8781, -87.6298},
	{"DAL", "Dallas", "southwest", 32.7767, -96.7970},
	{"LAX", "Los Angeles", "west", 34.0522, -118.2437},
	{"NJE", "Edison NJ", "northeast", 40.5187, -74.4121},
	{"MEM", "Memphis", "southeast", 35.1495, -90.0490},
	{"IND", "Indianapolis", "midwest", 39.7684, -86.1581},
	{"RNO", "Reno", "west", 39.5296, -119.8138},
	{"PHX", "Phoenix", "southwest", 33.4484, -112.0740},
	{"SEA", "Seattle", "west", 47.6062, -122.3321},
	{"COL", "Columbus", "midwest", 39.9612, -82.9988},
	{"JAX", "Jacksonville", "southeast", 30.3322, -81.6557},
	{"DEN", "Denver", "west", 39.7392, -104.9903},
	{"HOU", "Houston", "southwest", 29.7604, -95.3698},
	{"ALB", "Allentown", "northeast", 40.6023, -75.4714},
	{"KCY", "Kansas City", "midwest", 39.0997, -94.5786},
	{"NYC", "New York", "northeast", 40.7128, -74.0060},
	{"BOS", "Boston", "northeast", 42.3601, -71.0589},
	{"PHL", "Philadelphia", "northeast", 39.9526, -75.1652},
	{"WAS", "Washington", "northeast", 38.9072, -77.0369},
	{"BAL", "Baltimore", "northeast", 39.2904, -76.6122},
	{"PIT", "Pittsburgh", "northeast", 40.4406, -79.9959},
	{"BUF", "Buffalo", "northeast", 42.8864, -78.8784},
	{"MIA", "Miami", "southeast", 25.7617, -80.1918},
	{"ORL", "Orlando", "southeast", 28.5383, -81.3792},
	{"TPA", "Tampa", "southeast", 27.9506, -82.4572},
	{"CLT", "Charlotte", "southeast", 35.2271, -80.8431},
	{"RAL", "Raleigh", "southeast", 35.7796, -78.6382},
	{"NSH", "Nashville", "southeast", 36.1627, -86.7816},
	{"NOL", "New Orleans", "southeast", 29.9511, -90.0715},
	{"DET", "Detroit", "midwest", 42.3314, -83.0458},
	{"CLE", "Cleveland", "midwest", 41.4993, -81.6944},
	{"MIN", "Minneapolis", "midwest", 44.9778, -93.2650},
	{"STL", "St. Louis", "midwest", 38.6270, -90.1994},
	{"MKE", "Milwaukee", "midwest", 43.0389, -87.9065},
	{"CIN", "Cincinnati", "midwest", 39.1031, -84.5120},
	{"OMA", "Omaha", "midwest", 41.2565, -95.9345},
	{"AUS", "Austin", "southwest", 30.2672, -97.7431},
	{"SAT", "San Antonio", "southwest", 29.4241, -98.4936},
	{"OKC", "Oklahoma City", "southwest", 35.4676, -97.5164},
	{"ABQ", "Albuquerque", "southwest", 35.0844, -106.6504},
	{"TUS", "Tucson", "southwest", 32.2226, -110.9747},
	{"LAS", "Las Vegas", "west", 36.1699, -115.1398},
	{"SDG", "San Diego", "west", 32.7157, -117.1611},
	{"SFO", "San Francisco", "west", 37.7749, -122.4194},
	{"SJC", "San Jose", "west", 37.3382, -121.8863},
	{"SAC", "Sacramento", "west", 38.5816, -121.4944},
	{"PDX", "Portland", "west", 45.5152, -122.6784},
	{"SLC", "Salt Lake City", "west", 40.7608, -111.8910},
	{"BOI", "Boise", "west", 43.6150, -116.2023},
	{"SPK", "Spokane", "west", 47.6588, -117.4260},
	{"ELP", "El Paso", "southwest", 31.7619, -106.4850},
	{"LOU", "Louisville", "southeast", 38.2527, -85.7585},
	{"RIC", "Richmond", "northeast", 37.5407, -77.4360},
	{"HRT", "Hartford", "northeast", 41.7658, -72.6734},
	{"PRV", "Providence", "northeast", 41.8240, -71.4128},
	{"BHM", "Birmingham", "southeast", 33.5186, -86.8104},
	{"DSM", "Des Moines", "midwest", 41.5868, -93.6250},
	{"LIT", "Little Rock", "southeast", 34.7465, -92.2896},
	{"TUL", "Tulsa", "southwest", 36.1540, -95.9928},
};

#define N_CITIES ((int)(sizeof(cities) / sizeof(cities[0])))

/* ---- the counter-based generator ---- */

static uint64_t mix64(uint64_t z)
{
	z += 0x9E3779B97F4A7C15ULL;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* A uniform draw in [0, 1) for (seed, stream, a, b). */
static double draw(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b)
{
	uint64_t h = mix64(seed ^ mix64(stream ^ mix64(a ^ mix64(b))));
	return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

enum { S_SKU_W, S_SKU_H, S_SKU_POP, S_SKU_NAME, S_NODE, S_SERIES, S_DAY, S_ASSORT, S_INV };

/* Poisson by inversion of the CDF with one uniform: exact and order-free. */
static long poisson(double lambda, double u)
{
	if (lambda <= 0)
		return 0;
	if (lambda > 60) { /* normal approximation far from zero */
		double u2 = u < 1e-12 ? 1e-12 : u;
		double z = sqrt(-2.0 * log(u2)) * cos(2 * M_PI * u2 * 7.0);
		long v = lround(lambda + sqrt(lambda) * z);
		return v < 0 ? 0 : v;
	}
	double p = exp(-lambda), cdf = p;
	long k = 0;
	while (u > cdf && k < 1000) {
		k++;
		p *= lambda / (double)k;
		cdf += p;
	}
	return k;
}

struct demo_node {
	char id[FL_ID_MAX];
	const struct city *city;
	enum fl_node_type type;
	double size; /* demand scale */
};

struct demo {
	const struct store_demo_opts *o;
	struct demo_node *nodes;
	int nnodes;
	double *pop; /* per SKU: base daily demand at a reference node */
	double *weight;
	bool *hazmat;
};

static int cmp_node(const void *a, const void *b)
{
	return strcmp(((const struct demo_node *)a)->id, ((const struct demo_node *)b)->id);
}

/* Does node n stock SKU k? DCs stock everything; stores an assortment of popular SKUs. */
static bool stocks(const struct demo *d, int n, int k)
{
	if (d->nodes[n].type != FL_NODE_STORE && d->nodes[n].type != FL_NODE_MFC)
		return true;
	double share = d->pop[k] > 0.5 ? 0.9 : d->pop[k] > 0.1 ? 0.25 : 0.05;
	return draw(d->o->seed, S_ASSORT, (uint64_t)n, (uint64_t)k) < share;
}

static double series_level(const struct demo *d, int n, int k)
{
	return d->pop[k] * d->nodes[n].size;
}

void store_demo_opts_default(struct store_demo_opts *o)
{
	o->seed = 20261123;
	o->dcs = 12;
	o->stores = 36;
	o->skus = 2000;
	o->days = 730;
	fl_date_parse("2026-11-01", &o->end_day);
}

static FILE *open_out(const char *dir, const char *name, char *tmp, size_t cap, struct fl_err *err)
{
	snprintf(tmp, cap, "%s/%s.tmp", dir, name);
	FILE *fp = fopen(tmp, "wb");
	if (!fp)
		fl_err_set(err, FL_EIO, "%s: %s", tmp, strerror(errno));
	return fp;
}

static int close_out(FILE *fp, const char *dir, const char *name, const char *tmp,
		     struct fl_err *err)
{
	char path[4096];
	if (ferror(fp) | fclose(fp)) {
		unlink(tmp);
		return fl_err_set(err, FL_EIO, "%s: write failed", tmp);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (rename(tmp, path) != 0)
		return fl_err_set(err, FL_EIO, "%s: %s", path, strerror(errno));
	return 0;
}

static void write_nodes(const struct demo *d, FILE *fp)
{
	fputs("id,name,type,lat,lon,region,capacity_units,handling_cost,pick_cost,"
	      "processing_days,ships_hazmat\n",
	      fp);
	for (int i = 0; i < d->nnodes; i++) {
		const struct demo_node *n = &d->nodes[i];
		double u = draw(d->o->seed, S_NODE, (uint64_t)i, 1);
		bool big = n->type == FL_NODE_DC || n->type == FL_NODE_3PL;
		char cap[32] = "";
		if (!big)
			snprintf(cap, sizeof(cap), "%d", 60 + (int)(u * 140));
		else if (n->type == FL_NODE_3PL)
			snprintf(cap, sizeof(cap), "%d", 4000 + (int)(u * 4000));
		static const char *const label[] = {"DC", "Store", "3PL", "MFC"};
		fprintf(fp, "%s,%s %s,%s,%.4f,%.4f,%s,%s,%.2f,%.2f,%d,%d\n", n->id, n->city->name,
			label[n->type], fl_node_type_name(n->type), n->city->lat, n->city->lon,
			n->city->region, cap, big ? 1.50 + u : 3.00 + 1.5 * u,
			big ? 0.25 + 0.15 * u : 0.80 + 0.4 * u,
			big ? (n->type == FL_NODE_3PL ? 1 : (int)(u * 2)) : 1,
			n->type == FL_NODE_DC ? (u < 0.8) : 0);
	}
}

static const char *const adjectives[] = {"Classic", "Compact", "Deluxe", "Eco",	 "Heavy-Duty",
					 "Pro",	    "Smart",   "Ultra",	 "Mini", "Family"};
static const char *const nouns[] = {"Blender", "Backpack",     "Drill",	  "Lamp",      "Kettle",
				    "Tent",    "Cleaner",      "Speaker", "Chair",     "Toolkit",
				    "Paint",   "Battery Pack", "Grill",	  "Towel Set", "Helmet"};

static void write_skus(const struct demo *d, FILE *fp)
{
	fputs("id,name,weight_kg,hazmat\n", fp);
	for (int k = 0; k < d->o->skus; k++) {
		uint64_t h = mix64(d->o->seed ^ mix64(S_SKU_NAME ^ mix64((uint64_t)k)));
		fprintf(fp, "SKU-%05d,%s %s %d,%.3f,%d\n", k + 1, adjectives[h % 10],
			nouns[(h >> 8) % 15], (int)((h >> 16) % 900) + 100, d->weight[k],
			d->hazmat[k]);
	}
}

/* Zone bands like a national parcel carrier's (miles 150/300/600/1000/1400/1800/+). */
static const double zone_km[] = {241, 483, 966, 1609, 2253, 2897, 5000};

static void write_zones(FILE *fp)
{
	fputs("zone,max_km\n", fp);
	for (int z = 0; z < 7; z++)
		fprintf(fp, "%d,%.0f\n", z + 2, zone_km[z]);
}

static void write_rates(FILE *fp)
{
	static const struct {
		const char *carrier;
		double scale;
		int max_zone;
	} carriers[] = {{"parcelco", 1.00, 8}, {"regionalx", 0.85, 5}, {"swiftship", 1.10, 8}};
	static const struct {
		const char *name;
		double base, per_kg, zone_step;
		int transit[7];
		bool hazmat;
	} services[] = {
		{"express", 14.0, 0.90, 2.6, {1, 1, 2, 2, 2, 2, 2}, false},
		{"ground", 6.5, 0.45, 0.9, {1, 2, 3, 4, 5, 5, 6}, true},
		{"overnight", 26.0, 1.60, 4.8, {1, 1, 1, 1, 1, 1, 1}, false},
	};
	fputs("carrier,service,zone,base_cost,per_kg,transit_days,hazmat_ok\n", fp);
	for (int c = 0; c < 3; c++)
		for (int s = 0; s < 3; s++) {
			for (int z = 0; z < 7 && z + 2 <= carriers[c].max_zone; z++)
				fprintf(fp, "%s,%s,%d,%.2f,%.3f,%d,%d\n", carriers[c].carrier,
					services[s].name, z + 2,
					carriers[c].scale *
						(services[s].base + services[s].zone_step * z),
					carriers[c].scale * services[s].per_kg * (1 + 0.08 * z),
					services[s].transit[z], services[s].hazmat && c != 2);
		}
}

static void write_lanes(const struct demo *d, FILE *fp)
{
	fputs("from,to,cost_per_unit,fixed_cost,lead_days,capacity_units\n", fp);
	for (int i = 0; i < d->nnodes; i++)
		for (int j = 0; j < d->nnodes; j++) {
			const struct demo_node *a = &d->nodes[i], *b = &d->nodes[j];
			bool a_big = a->type == FL_NODE_DC || a->type == FL_NODE_3PL;
			bool b_big = b->type == FL_NODE_DC || b->type == FL_NODE_3PL;
			if (i == j || (!a_big && !b_big))
				continue;
			double km = fl_haversine_km(a->city->lat, a->city->lon, b->city->lat,
						    b->city->lon);
			if (a_big != b_big && km > 1500)
				continue; /* DCs serve stores within reach */
			char cap[32] = "";
			if (!(a_big && b_big))
				snprintf(cap, sizeof(cap), "%d", 400 + (int)(km / 3));
			fprintf(fp, "%s,%s,%.3f,%.2f,%d,%s\n", a->id, b->id, 0.05 + 0.0004 * km,
				25.0 + 0.05 * km, 1 + (int)(km / 800), cap);
		}
}

static void write_inventory(const struct demo *d, FILE *fp)
{
	fputs("node,sku,on_hand,safety_stock\n", fp);
	for (int n = 0; n < d->nnodes; n++)
		for (int k = 0; k < d->o->skus; k++) {
			if (!stocks(d, n, k))
				continue;
			double lvl = series_level(d, n, k);
			double u = draw(d->o->seed, S_INV, (uint64_t)n, (uint64_t)k);
			/* 0–6 weeks of cover, some positions empty: a network to rebalance */
			long on_hand = u < 0.08 ? 0 : lround(lvl * 42.0 * u + (u > 0.5 ? 2 : 0));
			long safety = lround(lvl * 5.0);
			fprintf(fp, "%s,SKU-%05d,%ld,%ld\n", d->nodes[n].id, k + 1, on_hand,
				safety);
		}
}

/* Christmas Day: the stores (and micro-fulfilment centres) close; DCs ship web orders. */
static bool christmas(int32_t day)
{
	char date[11];
	fl_date_format(day, date);
	return !strcmp(date + 5, "12-25");
}

static bool walk_in(const struct demo_node *n)
{
	return n->type == FL_NODE_STORE || n->type == FL_NODE_MFC;
}

/* calendar.csv: the stores' Christmas Days, from the history's first year to a year past
 * its end (a forecast's horizon may reach one). */
static void write_calendar(const struct demo *d, FILE *fp)
{
	const struct store_demo_opts *o = d->o;
	char date[11];
	fputs("date,node,closed\n", fp);
	for (int32_t day = o->end_day - o->days; day <= o->end_day + 366; day++)
		if (christmas(day)) {
			fl_date_format(day, date);
			for (int n = 0; n < d->nnodes; n++)
				if (walk_in(&d->nodes[n]))
					fprintf(fp, "%s,%s,1\n", date, d->nodes[n].id);
		}
}

/* Sales, sorted by (date, node, sku) like the export, only the days with demand. */
static int write_sales(const struct demo *d, FILE *fp, store_progress_fn *progress, void *pctx)
{
	const struct store_demo_opts *o = d->o;
	int ns = d->nnodes * o->skus;
	double *level = malloc(sizeof(double) * (size_t)ns);
	double *trend = malloc(sizeof(double) * (size_t)ns);
	int *death = malloc(sizeof(int) * (size_t)ns);
	unsigned long rows = 0;

	if (!level || !trend || !death) {
		free(level), free(trend), free(death);
		return FL_ENOMEM;
	}
	for (int n = 0; n < d->nnodes; n++)
		for (int k = 0; k < o->skus; k++) {
			int s = n * o->skus + k;
			double u1 = draw(o->seed, S_SERIES, (uint64_t)s, 1);
			double u2 = draw(o->seed, S_SERIES, (uint64_t)s, 2);
			level[s] = stocks(d, n, k) ? series_level(d, n, k) : 0;
			trend[s] = (u1 - 0.45) * 0.8; /* relative change over the history */
			death[s] = u2 < 0.06 ? (int)(o->days * (0.3 + 0.6 * u1)) : o->days;
		}
	/* weekly profiles (Mon..Sun): stores peak at the weekend, web demand early week */
	static const double store_week[7] = {0.85, 0.80, 0.82, 0.90, 1.05, 1.35, 1.23};
	static const double web_week[7] = {1.15, 1.10, 1.05, 1.00, 0.95, 0.85, 0.90};
	int32_t first = o->end_day - o->days;
	char date[11];
	fputs("date,node,sku,qty\n", fp);
	for (int t = 0; t < o->days; t++) {
		int32_t day = first + t;
		int dow = (int)(((day % 7) + 7 + 3) % 7); /* 1970-01-01 was a Thursday */
		double season = 1.0 + 0.15 * sin(2 * M_PI * (t % 365) / 365.0);
		const bool closed = christmas(day);
		fl_date_format(day, date);
		for (int n = 0; n < d->nnodes; n++) {
			if (closed && walk_in(&d->nodes[n]))
				continue;
			bool web =
				d->nodes[n].type == FL_NODE_DC || d->nodes[n].type == FL_NODE_3PL;
			double wk = web ? web_week[dow] : store_week[dow];
			for (int k = 0; k < o->skus; k++) {
				int s = n * o->skus + k;
				if (level[s] <= 0 || t >= death[s])
					continue;
				double lam = level[s] * wk * season *
					     (1.0 + trend[s] * ((double)t / o->days - 0.5));
				long q = poisson(lam,
						 draw(o->seed, S_DAY, (uint64_t)s, (uint64_t)t));
				if (q <= 0)
					continue;
				fprintf(fp, "%s,%s,SKU-%05d,%ld\n", date, d->nodes[n].id, k + 1, q);
				if (++rows % STORE_PROGRESS_ROWS == 0 && progress)
					progress(pctx, "sales.csv", rows, false);
			}
		}
	}
	if (progress)
		progress(pctx, "sales.csv", rows, true);
	free(level), free(trend), free(death);
	return 0;
}

int store_demo_write(const struct store_demo_opts *o, const char *dir, store_progress_fn *progress,
		     void *progress_ctx, struct fl_err *err)
{
	struct demo d = {.o = o};
	char tmp[4200];
	int rc = 0;

	if (o->dcs < 1 || o->stores < 0 || o->dcs + o->stores > N_CITIES)
		return fl_err_set(err, FL_EINVAL, "demo: between 1 and %d nodes (DCs + stores)",
				  N_CITIES);
	if (o->skus < 1 || o->skus > 99999 || o->days < 1 || o->days > 3660)
		return fl_err_set(err, FL_EINVAL,
				  "demo: 1..99999 SKUs and 1..3660 days of history");
	d.nnodes = o->dcs + o->stores;
	d.nodes = calloc((size_t)d.nnodes, sizeof(*d.nodes));
	d.pop = calloc((size_t)o->skus, sizeof(double));
	d.weight = calloc((size_t)o->skus, sizeof(double));
	d.hazmat = calloc((size_t)o->skus, sizeof(bool));
	if (!d.nodes || !d.pop || !d.weight || !d.hazmat) {
		rc = fl_err_set(err, FL_ENOMEM, "demo: out of memory");
		goto out;
	}
	for (int i = 0; i < d.nnodes; i++) {
		struct demo_node *n = &d.nodes[i];
		bool dc = i < o->dcs;
		n->city = &cities[dc ? i : o->dcs + (i - o->dcs)];
		n->type = dc ? (i % 6 == 5 ? FL_NODE_3PL : FL_NODE_DC)
			     : ((i - o->dcs) % 12 == 11 ? FL_NODE_MFC : FL_NODE_STORE);
		snprintf(n->id, sizeof(n->id), "%s-%s", dc ? "DC" : "ST", n->city->code);
		/* web demand at a DC is larger than a store's walk-in demand */
		n->size = (dc ? 0.9 : 0.5) * (0.6 + 0.8 * draw(o->seed, S_NODE, (uint64_t)i, 2));
	}
	qsort(d.nodes, (size_t)d.nnodes, sizeof(*d.nodes), cmp_node);
	for (int k = 0; k < o->skus; k++) {
		/* Zipf-like popularity: a few fast movers, a long intermittent tail */
		double u = draw(o->seed, S_SKU_POP, (uint64_t)k, 0);
		d.pop[k] = 3.0 * pow((double)(k % 997 + 1), -0.9) * (0.5 + u) + 0.02;
		double w = exp(log(0.15) +
			       (log(25.0) - log(0.15)) * draw(o->seed, S_SKU_W, (uint64_t)k, 0));
		d.weight[k] = round(w * 1000) / 1000;
		d.hazmat[k] = draw(o->seed, S_SKU_H, (uint64_t)k, 0) < 0.03;
	}

	struct {
		const char *name;
		int which;
	} files[] = {{"nodes.csv", 0}, {"skus.csv", 1},	     {"zones.csv", 2}, {"rates.csv", 3},
		     {"lanes.csv", 4}, {"inventory.csv", 5}, {"sales.csv", 6}, {"calendar.csv", 7}};
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]) && !rc; f++) {
		FILE *fp = open_out(dir, files[f].name, tmp, sizeof(tmp), err);
		if (!fp) {
			rc = FL_EIO;
			break;
		}
		switch (files[f].which) {
		case 0: write_nodes(&d, fp); break;
		case 1: write_skus(&d, fp); break;
		case 2: write_zones(fp); break;
		case 3: write_rates(fp); break;
		case 4: write_lanes(&d, fp); break;
		case 5: write_inventory(&d, fp); break;
		case 7: write_calendar(&d, fp); break;
		default:
			if (write_sales(&d, fp, progress, progress_ctx))
				rc = fl_err_set(err, FL_ENOMEM, "demo: out of memory");
		}
		int crc = close_out(fp, dir, files[f].name, tmp, err);
		if (!rc)
			rc = crc;
	}
out:
	free(d.nodes);
	free(d.pop);
	free(d.weight);
	free(d.hazmat);
	return rc;
}
