package main

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseResult(t *testing.T) {
	out := "noise\n{\"not\":\"ours\"}\n" +
		`{"workload":"wss","target":"wss://127.0.0.1:1/ws","conns":1000,"size":64,"pipeline":16,"duration_s":3.0001,"ops":300000,"ops_per_s":99996.7,"errors":2,"connect_s":0.8}` + "\n"
	r, err := parseResult(out)
	if err != nil {
		t.Fatal(err)
	}
	want := lgResult{Workload: "wss", Conns: 1000, Size: 64, Pipeline: 16, Duration: 3.0001, Ops: 300000, OpsPerS: 99996.7, Errors: 2, ConnectS: 0.8}
	if r != want {
		t.Fatalf("got %+v\nwant %+v", r, want)
	}
	for _, bad := range []string{"", "check ok\n", `{"ops":1}`, "{broken"} {
		if _, err := parseResult(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"-servers", "nbio, gorilla,nbio", "-pipelines", "1,16", "-rounds", "5", "-window", "2s"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.servers, []string{"nbio", "gorilla"}) || !reflect.DeepEqual(c.pipelines, []int{1, 16}) ||
		c.rounds != 5 || c.window != 2*time.Second || c.ref != "gorilla" || c.conns != 1000 || c.size != 64 {
		t.Fatalf("%+v", c)
	}
	for _, args := range [][]string{
		{"-servers", "nginx"}, {"-pipelines", "0"}, {"-pipelines", "1,x"}, {"-rounds", "0"}, {"-window", "0s"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

func TestExpandAndOrder(t *testing.T) {
	got := expand("serve --https {addr} --tls-cert {cert} --tls-key {key} --loops {loops}", "127.0.0.1:9", 2, certs{"/c.pem", "/k.pem"})
	want := []string{"serve", "--https", "127.0.0.1:9", "--tls-cert", "/c.pem", "--tls-key", "/k.pem", "--loops", "2"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("expand: %q", got)
	}
	names := []string{"nbio", "gorilla", "ioloop"}
	for r, w := range [][]string{{"gorilla", "ioloop", "nbio"}, {"ioloop", "nbio", "gorilla"}, {"nbio", "gorilla", "ioloop"}, {"gorilla", "ioloop", "nbio"}} {
		if got := order(names, r); !reflect.DeepEqual(got, w) {
			t.Errorf("round %d: %v", r, got)
		}
	}
	if names[0] != "nbio" {
		t.Error("order changed its input")
	}
	if !isBanner("https listening on 127.0.0.1:5\n", "127.0.0.1:5") || !isBanner("wss listening on 127.0.0.1:5", "127.0.0.1:5") ||
		isBanner("wss listening on 127.0.0.1:6", "127.0.0.1:5") {
		t.Error("isBanner")
	}
}

func TestSummarizeAndReport(t *testing.T) {
	run := func(server string, round, p int, rate, cpu float64, errs int64) runResult {
		return runResult{Server: server, Round: round, Pipeline: p, LG: lgResult{OpsPerS: rate, Errors: errs},
			CPUPerOpUS: cpu, CPUSeconds: 0.9, ClientCPUS: 0.5, WallS: 1}
	}
	runs := []runResult{
		run("gorilla", 0, 1, 100, 10, 0), run("ioloop", 0, 1, 130, 6, 0),
		run("gorilla", 1, 1, 90, 12, 0), run("ioloop", 1, 1, 120, 7, 0),
		run("gorilla", 2, 1, 110, 11, 0), run("ioloop", 2, 1, 125, 8, 0),
		run("nbio", 0, 1, 80, 14, 3),
		run("gorilla", 0, 16, 200, 5, 0),
	}
	runs[6].FirstError = "EOF"
	sums := summarize(runs, 1, "gorilla")
	if len(sums) != 3 || sums[0].name != "ioloop" || sums[1].name != "gorilla" || sums[2].name != "nbio" {
		t.Fatalf("ranking %+v", sums)
	}
	io := sums[0]
	if io.opsPerS != 125 || io.cpuPerOp != 7 || io.rounds != 3 || io.cpuPct != 90 {
		t.Fatalf("ioloop medians %+v", io)
	}
	// Per-round ratios: 130/100, 120/90, 125/110.
	if len(io.rateRatios) != 3 || io.rateRatios[0] != 1.3 {
		t.Fatalf("ratios %v", io.rateRatios)
	}
	if sums[2].errors != 3 || len(sums[2].rateRatios) != 1 {
		t.Fatalf("nbio %+v", sums[2])
	}
	c, _ := parseFlags(nil)
	md := report(c, []server{{name: "gorilla", note: "g"}}, runs, map[string]string{"ioloop": "did not start"}, "0.1/0.2/0.3", "0.4/0.5/0.6")
	for _, want := range []string{
		"## 1000 conns × 64 B, 1 in flight",
		"| ioloop | 125 | 7.000 | 90% | 50% | 1.25× (1.14-1.33) | 0.64× (0.58-0.73) | 0 | 3 |",
		"| gorilla | 100 | 11.000 | 90% | 50% | 1.00× | 1.00× | 0 | 3 |",
		"| nbio | 80 | 14.000 | 90% | 50% | 0.80× | 1.27× | 3 | 1 |",
		"## 1000 conns × 64 B, 16 in flight",
		"- nbio, round 1, 1 in flight: 3 errors, first: EOF",
		"- **ioloop**: did not start",
		"Load average 0.1/0.2/0.3 at the start, 0.4/0.5/0.6 at the end.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q\n%s", want, md)
		}
	}
	if got := rate(1234567); got != "1.235M" {
		t.Error(got)
	}
	if got := rate(60284); got != "60.3k" {
		t.Error(got)
	}
}
