package desired

import (
	"context"
	"testing"
)

func TestMemoryKeepsTheStoreContract(t *testing.T) {
	storeContract(t, func(*testing.T) Store { return NewMemory() })
}

func TestMemorySignalsNothingWhenADeleteOfANodeChangesNothing(t *testing.T) {
	m := NewMemory()
	if err := m.DeleteNode(context.Background(), "missing"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.Changed():
		t.Fatal("signalled a change that did not happen")
	default:
	}
}
