package registrytest

import (
	"net/http"
	"testing"
)

func TestStart(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want int
	}{
		{"anonymous", nil, http.StatusOK},
		{"auth", []Option{WithAuth()}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Start(t, tt.opts...)
			resp, err := http.Get("http://" + r.Host + "/v2/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("GET /v2/ = %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusUnauthorized {
				req, _ := http.NewRequest(http.MethodGet, "http://"+r.Host+"/v2/", nil)
				req.SetBasicAuth(User, Password)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("GET /v2/ with credentials = %d, want 200", resp.StatusCode)
				}
			}
		})
	}
}

func TestProxyStatus(t *testing.T) {
	r := Start(t)
	p := NewProxy(t, r.Host)
	p.Inject(Rule{Match: Any, Fault: Status, Code: http.StatusServiceUnavailable, Times: 1})
	for i, want := range []int{http.StatusServiceUnavailable, http.StatusOK} {
		resp, err := http.Get("http://" + p.Host + "/v2/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("request %d: status %d, want %d", i, resp.StatusCode, want)
		}
	}
	if n := p.Count("GET", "/v2/"); n != 2 {
		t.Errorf("Count = %d, want 2", n)
	}
}

func TestProxyDrop(t *testing.T) {
	r := Start(t)
	p := NewProxy(t, r.Host)
	p.Inject(Rule{Match: Any, Fault: Drop, Times: 1})
	if _, err := http.Get("http://" + p.Host + "/v2/"); err == nil {
		t.Error("a dropped request got an answer")
	}
	resp, err := http.Get("http://" + p.Host + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d after the drop, want 200", resp.StatusCode)
	}
}
