package main

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, ln, filepath.Join(dir, "out"), filepath.Join(dir, "spool")) }()
	resp, err := http.Post("http://"+ln.Addr().String()+"/orders", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /orders: %s", resp.Status)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "out", "AWSLogs", "*", "CloudTrail", "*", "*", "*", "*", "*.json.gz"))
	if len(files) != 1 {
		t.Fatalf("the write's log file was not stored before its response: %v", files)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
