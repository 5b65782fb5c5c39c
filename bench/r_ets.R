# R forecast::ets on every series of a long CSV (series_id,date,value), timed: the
# reference make bench compares fulcrum with in the same run.
# usage: Rscript bench/r_ets.R SERIES.csv FREQUENCY HORIZON
suppressPackageStartupMessages(library(forecast))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = FALSE)
freq <- as.integer(args[2]); h <- as.integer(args[3])
ids <- unique(d$series_id)
t0 <- proc.time()[["elapsed"]]
for (id in ids) {
  y <- ts(d$value[d$series_id == id], frequency = freq)
  f <- forecast(ets(y), h = h)
}
el <- proc.time()[["elapsed"]] - t0
cat(sprintf("R forecast %s ets: %d series in %.2f s (%.1f ms per series)\n", packageVersion("forecast"), length(ids), el, 1000 * el / length(ids)))
