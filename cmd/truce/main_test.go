package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/truce-mechanism/truce"
)

var update = flag.Bool("update", false, "rewrite the scripts' expected files in testdata where cmp fails")

// TestMain makes the test binary double as the truce binary: a script's
// "exec truce" runs main, with its own arguments, standard streams and
// signals, exactly as a user's shell would.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"truce": main})
}

// TestScripts runs testdata/*.txtar. Each script has $PORT, a free TCP
// port, and $SERVER, http://127.0.0.1:$PORT, for a truce serve of its own,
// and $WPORT1 and $WPORT2 for witnesses.
func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       *update,
		Setup: func(env *testscript.Env) error {
			port, err := freePort()
			if err != nil {
				return err
			}
			env.Setenv("PORT", strconv.Itoa(port))
			env.Setenv("SERVER", fmt.Sprintf("http://127.0.0.1:%d", port))
			// Two more, for witnesses.
			for _, name := range []string{"WPORT1", "WPORT2"} {
				p, err := freePort()
				if err != nil {
					return err
				}
				env.Setenv(name, strconv.Itoa(p))
			}
			// Under -race, each exec'd truce would otherwise sleep a
			// second at exit, waiting for racing goroutines to report.
			env.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"grab":     cmdGrab,
			"expand":   cmdExpand,
			"payload":  cmdPayload,
			"keyids":   cmdKeyIDs,
			"mode":     cmdMode,
			"waithttp": cmdWaitHTTP,
			"httpget":  cmdHTTPGet,
		},
	})
}

// freePort asks the kernel for a port that is free now. Another program
// could take it before the script's server does, but only by bad luck.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// grab VAR REGEXP sets $VAR to the first submatch of REGEXP in the last
// command's standard output, as a user copies a key printed by truce keygen.
// The regexp is multi-line: ^ and $ match at line boundaries.
func cmdGrab(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: grab VAR REGEXP")
	}
	re, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	if re.NumSubexp() < 1 {
		ts.Fatalf("grab: %s has no (submatch) to grab", args[1])
	}
	out := ts.ReadFile("stdout")
	m := re.FindStringSubmatch(out)
	if m == nil {
		ts.Fatalf("grab: no match for %#q in stdout:\n%s", args[1], out)
	}
	ts.Setenv(args[0], m[1])
}

// expand FILE... replaces $VAR and ${VAR} in each file with the script's
// environment, so that a file in the archive can hold printed keys.
func cmdExpand(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: expand FILE...")
	}
	for _, name := range args {
		text := os.Expand(ts.ReadFile(name), func(v string) string {
			val := ts.Getenv(v)
			if val == "" {
				ts.Fatalf("expand: %s uses $%s, which is not set", name, v)
			}
			return val
		})
		ts.Check(os.WriteFile(ts.MkAbs(name), []byte(text), 0o666))
	}
}

// payload ENVELOPE prints the statement that an envelope file carries.
func cmdPayload(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: payload ENVELOPE")
	}
	env, err := truce.ParseEnvelope([]byte(ts.ReadFile(args[0])))
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "%s\n", env.Payload)
}

// keyids ENVELOPE prints the keyid of each of an envelope's signatures,
// one a line.
func cmdKeyIDs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: keyids ENVELOPE")
	}
	env, err := truce.ParseEnvelope([]byte(ts.ReadFile(args[0])))
	ts.Check(err)
	for _, s := range env.Signatures {
		fmt.Fprintf(ts.Stdout(), "%s\n", s.KeyID)
	}
}

// mode PERM FILE checks a file's permission bits, such as 0600.
func cmdMode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: [!] mode PERM FILE")
	}
	want, err := strconv.ParseUint(args[0], 8, 32)
	ts.Check(err)
	if runtime.GOOS == "windows" {
		return // Windows has no Unix permission bits.
	}
	info, err := os.Stat(ts.MkAbs(args[1]))
	ts.Check(err)
	got := info.Mode().Perm()
	switch {
	case !neg && got != os.FileMode(want):
		ts.Fatalf("%s has mode %#o, want %#o", args[1], got, want)
	case neg && got == os.FileMode(want):
		ts.Fatalf("%s has mode %#o", args[1], got)
	}
}

// waithttp URL [PATTERN] waits, up to ten seconds, for URL to answer 200
// OK, with a body matching the regular expression PATTERN when given: for
// a server started in the background to be ready, or a checkpoint to be
// published.
func cmdWaitHTTP(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: waithttp URL [PATTERN]")
	}
	var want *regexp.Regexp
	if len(args) == 2 {
		want = regexp.MustCompile(args[1])
	}
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get(args[0])
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode != http.StatusOK:
				err = fmt.Errorf("%s", resp.Status)
			case want != nil && !want.Match(body):
				err = fmt.Errorf("the body %q does not match %s", body, want)
			default:
				return
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("waithttp: %s is not ready after 10s: %v", args[0], err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// httpget URL prints the body of a GET of URL; a JSON body is indented,
// one field a line, so that scripts can match fields with stdout. It fails
// on a status other than 200 unless negated, and then prints the status.
func cmdHTTPGet(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: [!] httpget URL")
	}
	resp, err := http.Get(args[0])
	ts.Check(err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	ts.Check(err)
	out := string(body)
	var v any
	if json.Unmarshal(body, &v) == nil {
		b, err := json.MarshalIndent(v, "", "  ")
		ts.Check(err)
		out = string(b) + "\n"
	}
	fmt.Fprint(ts.Stdout(), out)
	ok := resp.StatusCode == http.StatusOK
	if ok == neg {
		ts.Fatalf("httpget %s: %s", args[0], resp.Status)
	}
	if neg {
		fmt.Fprintf(ts.Stderr(), "%s\n", resp.Status)
	}
}
