package testbed

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Detach lets the bed outlive this process (for `make cluster`): the slot lock is released and the processes
// are left running; DownSlot removes them later.
func (b *Bed) Detach() {
	b.releaseSlot()
}

// StartSwarm starts, in the background and detached, a `swarm join` per engine (in the engine's network
// namespace, serving cluster networks to it) and a manager listening on managerAddr, all on Consul discovery,
// then waits until the manager sees every engine Healthy.
func (b *Bed) StartSwarm(swarm, managerAddr string) error {
	disc := "consul://" + b.ConsulAddr + "/swarm"
	for _, e := range b.Engines {
		if err := b.daemon([]string{"nsenter", "--net=/var/run/netns/" + e.Netns}, swarm, "join-"+e.Name, "join",
			"--advertise="+e.Addr, "--heartbeat=5s", "--ttl=20s", "--plugin-dir="+e.PluginDir, disc); err != nil {
			return err
		}
	}
	if err := b.daemon(nil, swarm, "manage", "manage", "-H", "tcp://"+managerAddr, "--heartbeat=2s",
		"--secrets-key="+filepath.Join(b.Dir, "secrets.key"), disc); err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + managerAddr + "/info")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Count(string(body), `"Healthy"`) >= len(b.Engines) {
				return nil
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("the manager on %s does not see %d healthy engines; see %s/manage.log", managerAddr, len(b.Engines), b.Dir)
}

// daemon starts a detached background process (through prefix, e.g. nsenter, which execs it) and writes its
// pidfile, so DownSlot finds it; its output goes to <dir>/<name>.log.
func (b *Bed) daemon(prefix []string, bin, name string, args ...string) error {
	logPath := filepath.Join(b.Dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	abs, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	argv := append(append(append([]string{}, prefix...), abs), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	pid := cmd.Process.Pid
	cmd.Process.Release()
	return os.WriteFile(filepath.Join(b.Dir, name+".pid"), []byte(fmt.Sprint(pid)), 0o644)
}

// DownSlot removes everything a bed of slot k started, whether or not this process started it.
func DownSlot(k int) error { return cleanSlot(k) }

// stopPidfiles stops the detached swarm processes (found by their pidfiles, as their command lines do not name
// the bed), first, so joins deregister and the manager exits cleanly.
func stopPidfiles(dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.pid"))
	for _, f := range files {
		if strings.HasSuffix(f, "docker.pid") {
			continue
		}
		var pid int
		if b, err := os.ReadFile(f); err == nil {
			fmt.Sscan(string(b), &pid)
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if pid > 0 && strings.Contains(string(cmdline), "swarm") { // not a recycled PID of something else
			syscall.Kill(pid, syscall.SIGTERM)
			for i := 0; i < 50 && syscall.Kill(pid, 0) == nil; i++ {
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
}

// PrintStatus says what runs in slot k.
func PrintStatus(w io.Writer, k int) error {
	dir := filepath.Join(stateRoot, fmt.Sprint(k))
	if _, err := os.Stat(dir); err != nil {
		fmt.Fprintf(w, "slot %d: nothing running\n", k)
		return nil
	}
	fmt.Fprintf(w, "slot %d: %s\n", k, dir)
	for _, pid := range pidsUnder(dir) {
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		fmt.Fprintf(w, "  %d %s\n", pid, strings.ReplaceAll(string(cmd), "\x00", " "))
	}
	return nil
}
