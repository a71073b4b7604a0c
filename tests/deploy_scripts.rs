//! The per-platform deploy scripts (`deploy/*.sh`), run against stub `kubectl`, `kind`,
//! `minikube`, `gcloud`, `aws`, `docker` and `scaleproof` commands on PATH — test doubles that
//! record each call and answer the few queries the scripts make — so the order and arguments
//! of every step are checked without a cluster, a registry or a Docker engine. And shellcheck.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One stub: logs `name args…` to `$STUB_LOG`, then answers by the first matching pattern.
fn stub(dir: &Path, name: &str, answers: &[(&str, &str)]) {
    let mut cases = String::new();
    for (pattern, answer) in answers {
        // A space in a case pattern must be escaped; `*` stays a glob.
        let pattern = pattern.replace(' ', "\\ ");
        cases.push_str(&format!("  {pattern}) {answer} ;;\n"));
    }
    let script = format!(
        "#!/usr/bin/env bash\nprintf '%s\\n' \"{name} $*\" >> \"$STUB_LOG\"\ncase \"$*\" in\n{cases}  *) ;;\nesac\n"
    );
    let path = dir.join(name);
    std::fs::write(&path, script).expect("stub");
    Command::new("chmod")
        .arg("+x")
        .arg(&path)
        .status()
        .expect("chmod");
}

/// Copies the scripts into a fresh tree (they write their overlay next to themselves), puts
/// the stubs first on PATH, runs `deploy/<script>`, and returns (calls, stdout+stderr, the
/// overlay it applied).
fn run_script(script: &str, env: &[(&str, &str)]) -> (Vec<String>, String, String) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("repo");
    std::fs::create_dir_all(root.join("deploy")).expect("deploy dir");
    for entry in std::fs::read_dir(repo().join("deploy")).expect("deploy/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "sh") {
            std::fs::copy(
                &path,
                root.join("deploy").join(path.file_name().expect("name")),
            )
            .expect("copy");
        }
    }
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    stub(&bin, "kind", &[]);
    // `docker login --password-stdin` reads the password, as the real one does (a stub that
    // exits unread would make the piped `aws ecr get-login-password` die of SIGPIPE).
    stub(&bin, "docker", &[("login*", "cat >/dev/null")]);
    stub(&bin, "scaleproof", &[]);
    stub(
        &bin,
        "kubectl",
        &[
            ("*averageUtilization*", "echo 14"),
            ("*InternalIP*", "echo 172.18.0.2"),
            ("*nodePort*", "echo 31234"),
            ("*loadBalancer*", "echo \"$STUB_LB_ADDRESS\""),
        ],
    );
    stub(
        &bin,
        "minikube",
        &[("status*", "exit 1"), ("ip*", "echo 192.168.49.2")],
    );
    stub(
        &bin,
        "gcloud",
        &[
            ("config get-value project*", "echo demo-project"),
            ("artifacts repositories describe*", "exit 1"),
            ("container clusters describe*", "exit 1"),
        ],
    );
    stub(
        &bin,
        "aws",
        &[
            ("sts get-caller-identity*", "echo 123456789012"),
            ("ecr describe-repositories*", "exit 1"),
            ("ecr get-login-password*", "echo token"),
        ],
    );
    let log = tmp.path().join("calls.log");
    let out = Command::new("bash")
        .arg(root.join("deploy").join(script))
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("STUB_LOG", &log)
        .env("STUB_LB_ADDRESS", "203.0.113.7")
        .envs(env.iter().copied())
        .output()
        .expect("run the script");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{script} failed:\n{text}");
    let calls = std::fs::read_to_string(&log)
        .expect("calls")
        .lines()
        .map(|l| l.replace(&root.display().to_string(), "ROOT"))
        .collect();
    let overlay = std::fs::read_to_string(root.join("deploy/.overlay/kustomization.yaml"))
        .expect("the overlay it applied");
    (calls, text, overlay)
}

/// The calls that change something or decide the flow, in order (queries of state dropped).
fn steps(calls: &[String]) -> Vec<&str> {
    calls
        .iter()
        .map(String::as_str)
        .filter(|c| !c.starts_with("kubectl get "))
        .collect()
}

/// `expected` appear in `steps` in this order (state queries and waits may come between).
fn in_order(steps: &[&str], expected: &[&str]) {
    let mut at = 0;
    for want in expected {
        at += steps[at..]
            .iter()
            .position(|s| s == want)
            .unwrap_or_else(|| panic!("missing or out of order: {want}\n{steps:#?}"))
            + 1;
    }
}

const METRICS: &str =
    "https://github.com/kubernetes-sigs/metrics-server/releases/latest/download/components.yaml";

#[test]
fn kind_creates_the_cluster_patches_metrics_server_loads_the_image_then_checks() {
    let (calls, text, overlay) = run_script("kind.sh", &[]);
    let patch = r#"kubectl -n kube-system patch deployment metrics-server --type=json -p [{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--kubelet-insecure-tls"}]"#;
    let apply_metrics = format!("kubectl apply -f {METRICS}");
    assert_eq!(
        steps(&calls),
        [
            "kind get clusters",
            "kind create cluster --name scaleproof",
            "kubectl config use-context kind-scaleproof",
            apply_metrics.as_str(),
            patch,
            "docker build -f ROOT/target-service/Dockerfile -t target-service:0.1.0 ROOT",
            "kind load docker-image target-service:0.1.0 --name scaleproof",
            "kubectl apply -n default -k ROOT/deploy/.overlay",
            "kubectl rollout status -n default deployment/target-service --timeout=300s",
            "scaleproof doctor --deployment target-service --namespace default --service target-service --host http://172.18.0.2:31234 --scenario ROOT/scenarios/ramp-1k.toml",
        ]
    );
    assert!(overlay.contains("newName: target-service") && overlay.contains("newTag: \"0.1.0\""));
    assert!(overlay.contains("../../target-service/k8s/overlays/loadbalancer"));
    assert!(text.contains("scaleproof --host http://172.18.0.2:31234 --deployment target-service"));
    assert!(text.contains("kind delete cluster --name scaleproof"));
}

#[test]
fn minikube_loads_the_image_into_its_profile_and_uses_its_address() {
    let (calls, text, _) = run_script("minikube.sh", &[("PROFILE", "demo"), ("TAG", "v7")]);
    let steps = steps(&calls);
    assert_eq!(
        &steps[..6],
        [
            "minikube status -p demo",
            "minikube start -p demo --cpus 4 --memory 8g",
            "kubectl config use-context demo",
            "minikube addons enable metrics-server -p demo",
            "docker build -f ROOT/target-service/Dockerfile -t target-service:v7 ROOT",
            "minikube image load target-service:v7 -p demo",
        ]
    );
    assert!(steps.contains(&"minikube ip -p demo"));
    assert!(text.contains("--host http://192.168.49.2:31234"), "{text}");
    assert!(text.contains("minikube delete -p demo"));
}

#[test]
fn gke_enables_apis_creates_registry_and_cluster_and_pushes_an_amd64_image() {
    let (calls, text, overlay) = run_script("gke.sh", &[("REGION", "us-central1")]);
    let image = "us-central1-docker.pkg.dev/demo-project/scaleproof/target-service";
    let build = format!(
        "docker build --platform linux/amd64 -f ROOT/target-service/Dockerfile -t {image}:0.1.0 ROOT"
    );
    let push = format!("docker push {image}:0.1.0");
    let steps = steps(&calls);
    let expected = [
        "gcloud services enable artifactregistry.googleapis.com container.googleapis.com --project demo-project",
        "gcloud artifacts repositories create scaleproof --repository-format=docker --location us-central1 --project demo-project",
        "gcloud container clusters create scaleproof-demo --zone us-central1-b --project demo-project --num-nodes 2 --machine-type e2-standard-4",
        "gcloud container clusters get-credentials scaleproof-demo --zone us-central1-b --project demo-project",
        "gcloud auth configure-docker us-central1-docker.pkg.dev --quiet",
        build.as_str(),
        push.as_str(),
        "kubectl apply -n default -k ROOT/deploy/.overlay",
    ];
    in_order(&steps, &expected);
    assert!(overlay.contains(&format!("newName: {image}")));
    assert!(text.contains("--host http://203.0.113.7:8080"), "{text}");
    assert!(text.contains("gcloud container clusters delete scaleproof-demo"));
}

#[test]
fn eks_reuses_the_cluster_logs_in_to_ecr_and_reaches_the_elb_hostname() {
    let (calls, text, overlay) = run_script(
        "eks.sh",
        &[("STUB_LB_ADDRESS", "a1b2.eu-west-1.elb.amazonaws.com")],
    );
    let registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
    let steps = steps(&calls);
    let login = format!("docker login --username AWS --password-stdin {registry}");
    let build = format!(
        "docker build --platform linux/amd64 -f ROOT/target-service/Dockerfile -t {registry}/target-service:0.1.0 ROOT"
    );
    let metrics = format!("kubectl apply -f {METRICS}");
    let expected = [
        "aws eks describe-cluster --name scaleproof-demo --region eu-west-1",
        "aws eks update-kubeconfig --name scaleproof-demo --region eu-west-1",
        metrics.as_str(),
        "aws ecr create-repository --repository-name target-service --region eu-west-1",
        build.as_str(),
        "kubectl apply -n default -k ROOT/deploy/.overlay",
    ];
    in_order(&steps, &expected);
    // `aws ecr get-login-password | docker login …`: the two sides of one pipe start together,
    // so either may log first; both come after the repository and before the build.
    let at = |step: &str| steps.iter().position(|s| *s == step);
    let (created, built) = (
        at("aws ecr create-repository --repository-name target-service --region eu-west-1"),
        at(build.as_str()),
    );
    for step in [
        "aws ecr get-login-password --region eu-west-1",
        login.as_str(),
    ] {
        assert!(
            at(step).is_some_and(|i| Some(i) > created && Some(i) < built),
            "{step} is not between the repository and the build:\n{steps:#?}"
        );
    }
    assert!(overlay.contains(&format!("newName: {registry}/target-service")));
    assert!(
        text.contains("--host http://a1b2.eu-west-1.elb.amazonaws.com:8080"),
        "{text}"
    );
}

#[test]
fn the_deploy_scripts_are_shellcheck_clean() {
    let Ok(out) = Command::new("shellcheck")
        .arg("-x")
        .args([
            "deploy/kind.sh",
            "deploy/minikube.sh",
            "deploy/gke.sh",
            "deploy/eks.sh",
            "deploy/lib.sh",
        ])
        .current_dir(repo())
        .output()
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install shellcheck (.ci/run does)"
        );
        eprintln!("skipped: no shellcheck on this machine (apt-get install shellcheck)");
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
