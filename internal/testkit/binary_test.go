package testkit_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cleeng-connector/connector/internal/testkit"
)

func TestBinary_BuildsOncePerRunAndRemoveBinariesDeletesIt(t *testing.T) {
	src := filepath.Join(t.TempDir(), "hello.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() { println(\"hello\") }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := testkit.Binary(t, src)
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil || string(out) != "hello\n" {
		t.Fatalf("running the built binary: %v, output %q", err, out)
	}
	built, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	if again := testkit.Binary(t, src); again != bin {
		t.Fatalf("second build at %s, want the first, %s", again, bin)
	}
	if now, err := os.Stat(bin); err != nil || !now.ModTime().Equal(built.ModTime()) {
		t.Fatalf("the binary was built again (%v)", err)
	}
	testkit.RemoveBinaries()
	if _, err := os.Stat(bin); !os.IsNotExist(err) {
		t.Fatalf("after RemoveBinaries: %v, want the binary gone", err)
	}
}
