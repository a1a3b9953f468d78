# The chart of `make bench`: throughput and latency, chat server against
# plain mosquitto, from the medians bench/summarize.awk wrote into dir.
# Usage: gnuplot -e "dir='build/bench'" bench/chart.gp

set terminal pngcairo size 1400,600 font ",11" noenhanced
set output dir."/results.png"
set multiplot layout 1,2 title "chat server (mosquitto + plugin + bridge, SQLite synchronous=full) vs plain mosquitto, medians"

set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top left
set xtics nomirror font ",9"
set yrange [0:*]

set title "throughput: messages a second (groups: deliveries a second)"
set ylabel "thousands a second"
plot dir."/throughput.dat" using 2:xtic(1) title "chat server" lc rgb "#1f77b4", \
     "" using 3 title "plain mosquitto" lc rgb "#aaaaaa"

set title "send to receipt at 1,000 messages/s (dashed: 5 ms p99 target)"
set ylabel "milliseconds"
set arrow 1 from graph 0, first 5 to graph 1, first 5 nohead dt 2 lc rgb "#d62728"


plot dir."/latency.dat" using 2:xtic(1) title "chat server" lc rgb "#1f77b4", \
     "" using 3 title "plain mosquitto" lc rgb "#aaaaaa"

unset multiplot
