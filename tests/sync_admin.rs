//! The admin commands: a centre set up from its own CSV files, not the demo.

use system_tests::{admin, Device, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_admin_imports_units_and_people_then_serves_them() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    admin(&data, &["init", "--empty"])?;
    let units = dir.path().join("units.csv");
    std::fs::write(
        &units,
        "id,name,tier,parent,centre\n\
         taishan,台山市,county,,yes\n\
         haiyan,海宴镇,township,taishan,yes\n\
         haiyan-wufeng,五丰村,village,haiyan,no\n\
         haiyan-wufeng-g1,五丰村第一网格,grid,haiyan-wufeng,no\n",
    )?;
    let people = dir.path().join("people.csv");
    std::fs::write(
        &people,
        "id,name,unit,roles,specialties,phone\n\
         wf-gw1,李明,haiyan-wufeng-g1,grid_worker,,13800000001\n\
         hy-staff,陈芳,haiyan,centre_staff,,\n\
         hy-med,黄伟,haiyan,mediator,marriage_family;neighbour,\n",
    )?;
    assert!(
        admin(&data, &["import-units", &units.display().to_string()])?.contains("imported 4 units")
    );
    assert!(
        admin(&data, &["import-people", &people.display().to_string()])?
            .contains("imported 3 people")
    );
    // A bad file is refused with the line and the reason, and changes nothing.
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "id,name,unit,roles,specialties,phone\nx,某人,haiyan,wizard,,\n",
    )?;
    let err = admin(&data, &["import-people", &bad.display().to_string()]).unwrap_err();
    assert!(
        err.to_string()
            .contains("line 2: role `wizard` is not known"),
        "{err}"
    );
    let orphan = dir.path().join("orphan.csv");
    std::fs::write(
        &orphan,
        "id,name,unit,roles,specialties,phone\ny,某人,nowhere,grid_worker,,\n",
    )?;
    let err = admin(&data, &["import-people", &orphan.display().to_string()]).unwrap_err();
    assert!(err.to_string().contains("nowhere"), "{err}");

    let server = Server::start(&data, 0)?;
    let gw = Device::enrol(&server, "wf-gw1").await?;
    assert_eq!(gw.client.credentials().name, "李明");
    assert_eq!(
        gw.store().directory().people().count(),
        3,
        "the device has the roster"
    );
    gw.sync().await?;
    assert!(gw.case_ids()?.is_empty(), "a new centre has no cases");
    let figures = server.admin(&["figures", "--unit", "haiyan"])?;
    assert!(figures.contains("海宴镇"), "{figures}");
    assert!(admin(&data, &["enrol", "--person", "nobody"]).is_err());
    Ok(())
}
