# Turns the run records of bench/run.sh into the terminal table,
# results.json and the chart's data files. Input: machine.txt (key=value
# lines), then runs.txt (one run a line, key=value fields). Variables:
# out (the output folder), seconds (how long the benchmark took).
#
# For each metric: the median and min-max over the product runs, over the
# plain runs, and over the per-pair ratios product/plain (pair k's product
# run against pair k's plain run).

# One metric: scenario|key|title|unit|printf format.
function metric(spec) {
	metric_spec[++n_metrics] = spec
}

BEGIN {
	metric("pairs|accepted_per_s|1:1 accepted (ticked) msg/s|msg/s|%.0f")
	metric("pairs|delivered_per_s|1:1 delivered msg/s|msg/s|%.0f")
	metric("pairs|recv_p50_ms|1:1 send->receive p50 at saturation|ms|%.1f")
	metric("pairs|broker_us_per_msg|broker CPU per message|us|%.1f")
	metric("pairs|bridge_us_per_msg|bridge CPU per message|us|%.1f")
	metric("pairs|broker_cpu_pct|broker CPU over the window|% core|%.0f")
	metric("pairs|bridge_cpu_pct|bridge CPU over the window|% core|%.0f")
	metric("pairs|gen_cpu_pct|generator CPU over the window|% core|%.0f")
	metric("group10|deliveries_per_s|group of 10 deliveries/s|/s|%.0f")
	metric("group100|deliveries_per_s|group of 100 deliveries/s|/s|%.0f")
	metric("latency|recv_p50_ms|1,000 msg/s send->receive p50|ms|%.2f")
	metric("latency|recv_p99_ms|1,000 msg/s send->receive p99|ms|%.2f")
	metric("latency|recv_p999_ms|1,000 msg/s send->receive p99.9|ms|%.2f")
	metric("latency|tick_p50_ms|1,000 msg/s send->tick p50 (1)|ms|%.2f")
	metric("latency|tick_p99_ms|1,000 msg/s send->tick p99 (1)|ms|%.2f")
	metric("latency|tick_p999_ms|1,000 msg/s send->tick p99.9 (1)|ms|%.2f")
	metric("catchup|catchup_per_s|catch-up of 100,000 msg/s|msg/s|%.0f")
	metric("idle|connected|idle connections|conn|%.0f")
	metric("idle|broker_kb_per_conn|broker RSS per idle conn.|KiB|%.2f")
	metric("idle|bridge_kb_per_conn|bridge RSS per idle conn.|KiB|%.2f")
	metric("idle|server_kb_per_conn|broker+bridge RSS per idle conn.|KiB|" \
	    "%.2f")
	metric("pairs_as_shipped|accepted_per_s|as shipped (2): 1:1 msg/s|" \
	    "msg/s|%.0f")
	metric("group100_as_shipped|deliveries_per_s|as shipped (2): group " \
	    "of 100 deliveries/s|/s|%.0f")
	metric("catchup_as_shipped|catchup_per_s|as shipped (2): catch-up " \
	    "msg/s|msg/s|%.0f")
}

FNR == NR {
	eq = index($0, "=")
	machine[substr($0, 1, eq - 1)] = substr($0, eq + 1)
	next
}

{
	delete f
	for (i = 1; i <= NF; i++) {
		eq = index($i, "=")
		if (eq > 0)
			f[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	if (f["mode"] == "")
		f["mode"] = guess_mode($0)
	runs++
	run_text[runs] = $0
	label = f["label"]; mode = f["mode"]; pair = f["pair"] + 0
	if (f["verdict"] != "pass")
		failures[++n_failures] = label " " mode " run " pair ": " \
		    f["verdict"]
	if (f["gen_cpu_pct"] != "" && f["gen_cpu_pct"] + 0 > gen_max)
		gen_max = f["gen_cpu_pct"] + 0
	if (f["gen_cpu_pct"] + 0 > 60)
		gen_flags[++n_gen_flags] = label " " mode " run " pair ": " \
		    f["gen_cpu_pct"] "%"
	if (f["verdict"] != "pass")
		next
	if (label == "idle")
		f["server_kb_per_conn"] = f["broker_kb_per_conn"] + \
		    (f["bridge_kb_per_conn"] > 0 ? f["bridge_kb_per_conn"] : 0)
	for (k in f)
		value[label, mode, pair, k] = f[k]
	if (pair > max_pair[label])
		max_pair[label] = pair
}

function guess_mode(line) {
	return line ~ /mode=plain/ ? "plain" : "product"
}

# Values of label/key/mode over the pairs into list; returns the count.
function collect(label, key, mode, list,    p, n, v) {
	n = 0
	for (p = 1; p <= max_pair[label]; p++) {
		if (!((label, mode, p, key) in value))
			continue
		v = value[label, mode, p, key]
		if (v == "" || v + 0 < 0)
			continue
		list[++n] = v + 0
	}
	return n
}

function collect_ratios(label, key, list,    p, n, a, b) {
	n = 0
	for (p = 1; p <= max_pair[label]; p++) {
		if (!((label, "product", p, key) in value) ||
		    !((label, "plain", p, key) in value))
			continue
		a = value[label, "product", p, key] + 0
		b = value[label, "plain", p, key] + 0
		if (a < 0 || b <= 0 || value[label, "product", p, key] == "")
			continue
		list[++n] = a / b
	}
	return n
}

function sort_list(list, n,    i, j, v) {
	for (i = 2; i <= n; i++) {
		v = list[i]
		for (j = i - 1; j >= 1 && list[j] > v; j--)
			list[j + 1] = list[j]
		list[j + 1] = v
	}
}

function median(list, n) {
	if (n == 0)
		return ""
	sort_list(list, n)
	if (n % 2)
		return list[(n + 1) / 2]
	return (list[n / 2] + list[n / 2 + 1]) / 2
}

# "median (min-max)" with fmt, or "-".
function cell(list, n, fmt,    m) {
	if (n == 0)
		return "-"
	m = median(list, n)
	if (n == 1)
		return sprintf(fmt, m)
	return sprintf(fmt " (" fmt "-" fmt ")", m, list[1], list[n])
}

function json_stats(list, n,    m, s, i) {
	if (n == 0)
		return "null"
	m = median(list, n)
	s = sprintf("{\"median\": %.6g, \"min\": %.6g, \"max\": %.6g, " \
	    "\"values\": [", m, list[1], list[n])
	for (i = 1; i <= n; i++)
		s = s sprintf("%s%.6g", (i > 1 ? ", " : ""), list[i])
	return s "]}"
}

function json_string(s) {
	gsub(/\\/, "\\\\", s)
	gsub(/"/, "\\\"", s)
	return "\"" s "\""
}

function stat_of(label, key, mode, what,    list, n, m) {
	n = (mode == "ratio") ? collect_ratios(label, key, list) \
	                      : collect(label, key, mode, list)
	if (n == 0)
		return ""
	m = median(list, n)
	return what == "min" ? list[1] : what == "max" ? list[n] : m
}

function print_table(    i, parts, a, b, r, na, nb, nr, line) {
	printf "\n%-50s %-26s %-26s %s\n", "metric", "product median (min-max)",
	    "plain median (min-max)", "ratio product/plain"
	for (i = 1; i <= n_metrics; i++) {
		split(metric_spec[i], parts, "|")
		if (!(parts[1] in max_pair))
			continue
		delete a; delete b; delete r
		na = collect(parts[1], parts[2], "product", a)
		nb = collect(parts[1], parts[2], "plain", b)
		nr = collect_ratios(parts[1], parts[2], r)
		printf "%-50s %-26s %-26s %s\n", parts[3] " [" parts[4] "]",
		    cell(a, na, parts[5]), cell(b, nb, parts[5]),
		    cell(r, nr, "%.2f")
	}
}

function add_target(name, value, goal, met, shown) {
	n_targets++
	target_name[n_targets] = name
	target_value[n_targets] = value
	target_goal[n_targets] = goal
	target_met[n_targets] = value == "" ? "unmeasured" : (met ? "MET" : \
	    "MISSED")
	target_shown[n_targets] = value == "" ? "-" : shown
}

function ratio_target(name, label, key, goal,    m) {
	m = stat_of(label, key, "ratio", "median")
	add_target(name, m, ">= " goal " of plain", m != "" && m >= goal,
	    sprintf("%.2f (%.2f-%.2f)", m, stat_of(label, key, "ratio", "min"),
	        stat_of(label, key, "ratio", "max")))
}

function evaluate_targets(    m) {
	ratio_target("1:1 persisted throughput", "pairs", "accepted_per_s", 0.5)
	ratio_target("group of 10 deliveries/s", "group10", "deliveries_per_s",
	    0.7)
	ratio_target("group of 100 deliveries/s", "group100",
	    "deliveries_per_s", 0.7)
	m = stat_of("latency", "recv_p99_ms", "product", "median")
	add_target("p99 send-to-receive at 1,000 msg/s", m, "<= 5 ms",
	    m != "" && m <= 5, sprintf("%.2f ms (max %.2f)", m,
	        stat_of("latency", "recv_p99_ms", "product", "max")))
	ratio_target("catch-up vs plain durable drain", "catchup",
	    "catchup_per_s", 0.5)
	m = stat_of("idle", "server_kb_per_conn", "ratio", "median")
	add_target("memory per idle connection", m, "<= 1.5x plain",
	    m != "" && m <= 1.5, sprintf("%.2fx", m))
	add_target("zero loss / duplicates", n_failures + 0, "0 failed runs",
	    n_failures == 0, (n_failures + 0) " failed of " runs)
}

function print_targets(    i) {
	printf "\n%-40s %-26s %-22s %s\n", "target", "measured", "goal",
	    "result"
	for (i = 1; i <= n_targets; i++)
		printf "%-40s %-26s %-22s %s\n", target_name[i],
		    target_shown[i], target_goal[i], target_met[i]
}

function print_notes(    i) {
	printf "\n(1) plain mosquitto: send to PUBACK. (2) chat server only, " \
	    "with every shipped limit in force.\n"
	printf "\ngenerator CPU: at most %.0f%% of a core in any run", gen_max
	if (n_gen_flags == 0)
		printf " (none above 60%%)\n"
	else {
		printf "; ABOVE 60%% in %d run(s):\n", n_gen_flags
		for (i = 1; i <= n_gen_flags; i++)
			printf "  ! %s\n", gen_flags[i]
	}
	if (n_failures > 0) {
		printf "\n!!! %d RUN(S) FAILED (loss, duplicate or no " \
		    "result):\n", n_failures
		for (i = 1; i <= n_failures; i++)
			printf "  !!! %s\n", failures[i]
	} else
		printf "every run: published = ticked = stored = delivered, " \
		    "no duplicates\n"
}

function json_machine(f,    k, sep) {
	printf "  \"machine\": {" > f
	for (k in machine) {
		printf "%s\n    %s: %s", sep, json_string(k),
		    json_string(machine[k]) > f
		sep = ","
	}
	printf "\n  },\n" > f
}

function json_metrics(f,    i, parts, a, b, r, na, nb, nr, sep) {
	printf "  \"metrics\": [" > f
	for (i = 1; i <= n_metrics; i++) {
		split(metric_spec[i], parts, "|")
		if (!(parts[1] in max_pair))
			continue
		delete a; delete b; delete r
		na = collect(parts[1], parts[2], "product", a)
		nb = collect(parts[1], parts[2], "plain", b)
		nr = collect_ratios(parts[1], parts[2], r)
		printf "%s\n    {\"scenario\": %s, \"metric\": %s, " \
		    "\"title\": %s, \"unit\": %s,\n     \"product\": %s,\n" \
		    "     \"plain\": %s,\n     \"ratio\": %s}", sep,
		    json_string(parts[1]), json_string(parts[2]),
		    json_string(parts[3]), json_string(parts[4]),
		    json_stats(a, na), json_stats(b, nb), json_stats(r, nr) > f
		sep = ","
	}
	printf "\n  ],\n" > f
}

function json_targets(f,    i) {
	printf "  \"targets\": [" > f
	for (i = 1; i <= n_targets; i++)
		printf "%s\n    {\"target\": %s, \"goal\": %s, " \
		    "\"measured\": %s, \"result\": %s}", (i > 1 ? "," : ""),
		    json_string(target_name[i]), json_string(target_goal[i]),
		    json_string(target_shown[i]), json_string(target_met[i]) > f
	printf "\n  ],\n" > f
}

function json_list(f, name, list, n,    i) {
	printf "  \"%s\": [", name > f
	for (i = 1; i <= n; i++)
		printf "%s%s", (i > 1 ? ", " : ""), json_string(list[i]) > f
	printf "],\n" > f
}

# Every run record as an object, numbers as numbers.
function json_runs(f,    i, j, k, eq, fields) {
	printf "  \"runs\": [" > f
	for (i = 1; i <= runs; i++) {
		j = split(run_text[i], fields, " ")
		printf "%s\n    {", (i > 1 ? "," : "") > f
		for (k = 1; k <= j; k++) {
			eq = index(fields[k], "=")
			if (eq == 0)
				continue
			printf "%s%s: %s", (k > 1 ? ", " : ""),
			    json_string(substr(fields[k], 1, eq - 1)),
			    json_value(substr(fields[k], eq + 1)) > f
		}
		printf "}" > f
	}
	printf "\n  ]\n" > f
}

function write_json(    f) {
	f = out "/results.json"
	printf "{\n  \"seconds\": %d,\n", seconds > f
	json_machine(f)
	json_metrics(f)
	json_targets(f)
	printf "  \"generator_cpu_max_pct\": %.1f,\n", gen_max > f
	json_list(f, "generator_over_60pct", gen_flags, n_gen_flags)
	json_list(f, "failed_runs", failures, n_failures)
	json_runs(f)
	printf "}\n" > f
	close(f)
}

function json_value(v) {
	if (v ~ /^-?[0-9]+(\.[0-9]+)?$/)
		return v
	return json_string(v)
}

# Data for bench/chart.gp: throughput in thousands, latency in ms.
function write_chart_data(    f, i, parts, names, keys, labels) {
	f = out "/throughput.dat"
	print "# scenario product plain (thousands a second, medians)" > f
	split("pairs group10 group100 catchup", labels, " ")
	split("accepted_per_s deliveries_per_s deliveries_per_s " \
	    "catchup_per_s", keys, " ")
	split("1:1|group of 10|group of 100|" \
	    "catch-up", names, "|")
	for (i = 1; i <= 4; i++)
		printf "\"%s\" %.3f %.3f\n", names[i],
		    stat_of(labels[i], keys[i], "product", "median") / 1000,
		    stat_of(labels[i], keys[i], "plain", "median") / 1000 > f
	close(f)
	f = out "/latency.dat"
	print "# percentile product plain (ms, send to receipt, medians)" > f
	split("recv_p50_ms recv_p99_ms recv_p999_ms", keys, " ")
	split("p50 p99 p99.9", names, " ")
	for (i = 1; i <= 3; i++)
		printf "\"%s\" %.3f %.3f\n", names[i],
		    stat_of("latency", keys[i], "product", "median") + 0,
		    stat_of("latency", keys[i], "plain", "median") + 0 > f
	close(f)
}

END {
	evaluate_targets()
	printf "\nchat server vs plain mosquitto, %s pairs of runs; %s, %s " \
	    "cores, kernel %s\n", max_pair["pairs"], machine["cpu"],
	    machine["nproc"], machine["kernel"]
	if (machine["capacity_overrides"] != "")
		printf "capacity runs lift the rate limits: %s\n",
		    machine["capacity_overrides"]
	print_table()
	print_targets()
	print_notes()
	write_json()
	write_chart_data()
}
