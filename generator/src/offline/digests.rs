//! Offline digests: one hourly chain per (account, Region) over every delivered file, signed
//! with the run's key (given, or made and written beside the bucket).

use super::*;

/// One hourly digest chain per (account, Region), covering every delivered file.
pub(super) fn write_digests(
    opts: &OfflineOptions,
    d: &DigestOptions,
    population: &Population,
    regions: &[String],
    mut logs: Vec<WrittenLog>,
    store: &dyn ObjectStore,
    threads: usize,
) -> Result<u64, OfflineError> {
    logs.sort_by(|a, b| (a.delivered_at, &a.key).cmp(&(b.delivered_at, &b.key)));
    let mut by_chain: BTreeMap<(String, String), Vec<(OffsetDateTime, DigestLogFile)>> = BTreeMap::new();
    for l in &logs {
        if let Some((account, region)) = account_region(&l.key) {
            by_chain
                .entry((account, region))
                .or_default()
                .push((l.delivered_at, DigestLogFile::from(l)));
        }
    }
    let home = regions.first().cloned().unwrap_or_default();
    let first_hour = opts.start.unix_timestamp().div_euclid(3600);
    let last_delivery = logs
        .iter()
        .map(|l| l.delivered_at.unix_timestamp())
        .max()
        .unwrap_or(opts.end.unix_timestamp());
    let last_hour = last_delivery.max(opts.end.unix_timestamp() - 1).div_euclid(3600);
    let chains: Vec<(String, String)> = population
        .accounts
        .iter()
        .flat_map(|a| regions.iter().map(move |r| (a.clone(), r.clone())))
        .collect();
    let next = AtomicUsize::new(0);
    let count = AtomicU64::new(0);
    let failure: Mutex<Option<StoreError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                while let Some((account, region)) = chains.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let target = DigestTarget {
                        trail_name: d.trail_name.clone(),
                        home_region: home.clone(),
                        bucket: opts.bucket.clone(),
                        prefix: opts.prefix.clone(),
                        org_id: None,
                        account: account.clone(),
                        region: region.clone(),
                    };
                    let files = by_chain
                        .get(&(account.clone(), region.clone()))
                        .map(Vec::as_slice)
                        .unwrap_or(&[]);
                    let mut previous: Option<PreviousDigest> = None;
                    let mut i = 0;
                    for hour in first_hour..=last_hour {
                        let start = OffsetDateTime::from_unix_timestamp(hour * 3600)
                            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                        let end = OffsetDateTime::from_unix_timestamp((hour + 1) * 3600)
                            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                        let from = i;
                        while files.get(i).is_some_and(|f| f.0 < end) {
                            i += 1;
                        }
                        let slice: Vec<DigestLogFile> = files
                            .get(from..i)
                            .unwrap_or(&[])
                            .iter()
                            .map(|f| f.1.clone())
                            .collect();
                        let dg = digest::build_digest(&target, start, end, &slice, previous.as_ref(), &d.key);
                        match digest::put_digest(store, &dg) {
                            Ok(_) => {
                                previous = Some(dg.link());
                                count.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => {
                                *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e.into());
    }
    Ok(count.load(Ordering::Relaxed))
}

/// `(account, region)` of a log key `…/AWSLogs/[o-id/]acct/CloudTrail/region/Y/M/D/file`.
fn account_region(key: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = key.rsplit('/').collect();
    // file, D, M, Y, region, "CloudTrail", account
    let region = parts.get(4)?;
    let account = parts.get(6)?;
    (parts.get(5) == Some(&"CloudTrail")).then(|| (account.to_string(), region.to_string()))
}

/// Reads the PKCS#1 DER private key at `path`, or makes one and writes it (and its public half)
/// beside the bucket, so the same key can later be served to `validate-logs`.
pub fn digest_key(
    path: Option<&std::path::Path>,
    out: &std::path::Path,
    start: OffsetDateTime,
    end: OffsetDateTime,
) -> Result<KeyPair, String> {
    let from = start - time::Duration::days(1);
    let until = end + time::Duration::days(30);
    if let Some(p) = path {
        let der = std::fs::read(p).map_err(|e| format!("reading {}: {e}", p.display()))?;
        return KeyPair::from_pkcs1_der(&der, from, until).map_err(|e| e.to_string());
    }
    let key = KeyPair::generate(from, until).map_err(|e| e.to_string())?;
    let dir = out.join(".generator");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let pubfile = dir.join("digest-public-key.der");
    std::fs::write(&pubfile, &key.info().value_der_pkcs1)
        .map_err(|e| format!("writing {}: {e}", pubfile.display()))?;
    std::fs::write(dir.join("digest-public-key.fingerprint"), key.fingerprint())
        .map_err(|e| e.to_string())?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_region_from_key() {
        assert_eq!(
            account_region(
                "p/AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz"
            ),
            Some(("111122223333".into(), "us-east-2".into()))
        );
        assert_eq!(account_region("x/y"), None);
    }
}
