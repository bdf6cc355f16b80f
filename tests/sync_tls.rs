//! The server speaks HTTPS (rustls) when given a certificate; devices enrol and sync over it.

use system_tests::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_over_tls_with_the_centres_certificate() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem())?;
    std::fs::write(&key_path, cert.key_pair.serialize_pem())?;
    let data = dir.path().join("data");
    let server = Server::start_with(
        &data,
        3,
        vec![
            (
                "FENGQIAO_TLS_CERT".to_owned(),
                cert_path.display().to_string(),
            ),
            (
                "FENGQIAO_TLS_KEY".to_owned(),
                key_path.display().to_string(),
            ),
        ],
    )?;
    assert!(server.url().starts_with("https://"), "{}", server.url());
    // A client that trusts the centre's certificate gets answers; plain HTTP gets none.
    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes())?)
        .build()?;
    let health: serde_json::Value = trusting
        .get(format!("{}/healthz", server.url()))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(health["status"], "ok");
    let plain = reqwest::get(format!("http://127.0.0.1:{}/healthz", server.port)).await;
    assert!(plain.is_err() || !plain?.status().is_success());
    // A client that does not trust it refuses to talk.
    assert!(reqwest::get(format!("{}/healthz", server.url()))
        .await
        .is_err());
    // Enrolment over TLS.
    let code = server.code_for("haiyan-staff1")?;
    let resp = trusting
        .post(format!("{}/v1/enrol", server.url()))
        .json(
            &serde_json::json!({"code": code, "device_name": "综治中心电脑", "actor": "0a0b0c0d"}),
        )
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 200);
    Ok(())
}
