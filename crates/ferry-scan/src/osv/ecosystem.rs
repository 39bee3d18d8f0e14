//! OSV ecosystem names: which ecosystem an installed package belongs to, the lookup key a
//! record's ecosystem string is indexed under, the version scheme of each ecosystem, and
//! package name normalisation.
//!
//! Lookup keys fold spellings that mean the same stream of packages: `Ubuntu:22.04:LTS`
//! → `Ubuntu:22.04`, `Red Hat:enterprise_linux:9::appstream` → `Red Hat:9`,
//! `Rocky Linux:9.3` → `Rocky Linux:9`, `Maven:https://…` → `Maven`. Streams an installed
//! system cannot be on without more information (Ubuntu Pro, Red Hat EUS/AUS/E4S…) keep
//! their own key and are not matched.

use crate::package::{OsInfo, Package, PackageType};
use crate::version::Scheme;

/// The base ecosystem: the part before the first `:`.
pub fn base(ecosystem: &str) -> &str {
    ecosystem.split(':').next().unwrap_or(ecosystem).trim()
}

/// The key a record's ecosystem string is indexed and looked up under.
pub fn lookup_key(ecosystem: &str) -> String {
    let ecosystem = ecosystem.trim();
    let Some((base, suffix)) = ecosystem.split_once(':') else {
        return ecosystem.to_string();
    };
    match base {
        "Ubuntu" => {
            let parts: Vec<&str> = suffix.split(':').filter(|p| *p != "LTS").collect();
            format!("Ubuntu:{}", parts.join(":"))
        }
        "Red Hat" => match suffix.strip_prefix("enterprise_linux:") {
            Some(rest) => {
                let version = rest.split(':').next().unwrap_or("");
                format!("Red Hat:{}", major(version))
            }
            None => ecosystem.to_string(),
        },
        "Rocky Linux" | "AlmaLinux" => format!("{base}:{}", major(suffix)),
        // The suffix names a repository URL; the package coordinates are the same.
        "Maven" | "Packagist" | "VSCode" => base.to_string(),
        _ => ecosystem.to_string(),
    }
}

fn major(version: &str) -> &str {
    version.split('.').next().unwrap_or(version)
}

/// The version scheme of an ecosystem's `ECOSYSTEM` ranges, when ferry knows it.
pub fn scheme(ecosystem: &str) -> Option<Scheme> {
    Some(match base(ecosystem) {
        "Debian" | "Ubuntu" => Scheme::Dpkg,
        "Alpine"
        | "Wolfi"
        | "Chainguard"
        | "Alpaquita"
        | "BellSoft Hardened Containers"
        | "MinimOS" => Scheme::Apk,
        "Red Hat" | "Rocky Linux" | "AlmaLinux" | "SUSE" | "openSUSE" | "Photon OS" | "Mageia"
        | "openEuler" | "Azure Linux" => Scheme::Rpm,
        "PyPI" => Scheme::Pep440,
        "npm" | "crates.io" | "NuGet" | "SwiftURL" | "Pub" | "Hex" => Scheme::Semver,
        "Go" => Scheme::Go,
        "Maven" => Scheme::Maven,
        _ => return None,
    })
}

/// Normalises a package name the way the ecosystem compares names (PyPI per PEP 503).
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    match base(ecosystem) {
        "PyPI" => {
            let mut out = String::with_capacity(name.len());
            let mut in_separator = false;
            for c in name.trim().chars() {
                if matches!(c, '-' | '_' | '.') {
                    if !in_separator {
                        out.push('-');
                    }
                    in_separator = true;
                } else {
                    out.extend(c.to_lowercase());
                    in_separator = false;
                }
            }
            out
        }
        _ => name.trim().to_string(),
    }
}

/// Where to look an installed package up: ecosystem lookup keys and the name under each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lookup {
    /// Lookup keys, most specific first (e.g. `Debian:12`, then `Debian`).
    pub keys: Vec<String>,
    /// Names to look up (normalised), e.g. the source package, and for Red Hat also the
    /// binary package.
    pub names: Vec<String>,
    /// The version to compare: the source version for distro packages, when known.
    pub version: String,
    /// The scheme to compare it with.
    pub scheme: Scheme,
}

/// Why a package cannot be looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unsupported {
    /// OS packages on a distribution without OSV data (named).
    Distro(String),
}

/// Works out where OSV data for `package` lives, given the image's OS.
pub fn lookup_for(os: &OsInfo, package: &Package) -> Result<Lookup, Unsupported> {
    let source = package.source_name.clone().filter(|s| !s.trim().is_empty());
    let source_or_name = source.clone().unwrap_or_else(|| package.name.clone());
    let os_version = || {
        package
            .source_version
            .clone()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| package.version.clone())
    };
    let os_id = os.id.trim().to_ascii_lowercase();
    let version_id = os.version_id.trim();
    let distro = |keys: Vec<String>, names: Vec<String>, scheme: Scheme| Lookup {
        keys,
        names: dedup(names),
        version: os_version(),
        scheme,
    };
    let unsupported = || {
        Unsupported::Distro(if os_id.is_empty() {
            "unknown".into()
        } else {
            os_id.clone()
        })
    };
    match package.package_type {
        PackageType::Deb => match os_id.as_str() {
            "debian" | "raspbian" => {
                let mut keys = Vec::new();
                if !version_id.is_empty() {
                    keys.push(format!("Debian:{}", major(version_id)));
                }
                keys.push("Debian".into());
                Ok(distro(keys, vec![source_or_name], Scheme::Dpkg))
            }
            "ubuntu" => {
                let mut keys = Vec::new();
                if !version_id.is_empty() {
                    keys.push(format!("Ubuntu:{version_id}"));
                }
                keys.push("Ubuntu".into());
                Ok(distro(keys, vec![source_or_name], Scheme::Dpkg))
            }
            _ => Err(unsupported()),
        },
        PackageType::Apk => match os_id.as_str() {
            "alpine" => {
                let mut keys = Vec::new();
                let mut parts = version_id.split('.');
                if let (Some(a), Some(b)) = (parts.next(), parts.next()) {
                    // Edge reports e.g. `3.20.0_alpha20240329`.
                    if version_id.contains("_alpha") {
                        keys.push("Alpine:edge".to_string());
                    } else {
                        keys.push(format!("Alpine:v{a}.{b}"));
                    }
                }
                Ok(distro(keys, vec![source_or_name], Scheme::Apk))
            }
            "wolfi" => Ok(distro(
                vec!["Wolfi".into()],
                vec![package.name.clone(), source_or_name],
                Scheme::Apk,
            )),
            "chainguard" => Ok(distro(
                vec!["Chainguard".into()],
                vec![package.name.clone(), source_or_name],
                Scheme::Apk,
            )),
            _ => Err(unsupported()),
        },
        PackageType::Rpm => {
            let key = match os_id.as_str() {
                "rhel" | "centos" => format!("Red Hat:{}", major(version_id)),
                "rocky" => format!("Rocky Linux:{}", major(version_id)),
                "almalinux" => format!("AlmaLinux:{}", major(version_id)),
                "photon" => format!("Photon OS:{version_id}"),
                "mageia" => format!("Mageia:{version_id}"),
                id if id.starts_with("opensuse") => {
                    format!("openSUSE:{}", os.pretty_name.clone().unwrap_or_default())
                }
                "sles" | "sled" | "sles_sap" => {
                    format!("SUSE:{}", os.pretty_name.clone().unwrap_or_default())
                }
                _ => return Err(unsupported()),
            };
            // Red Hat data names binary or source RPMs; the others name source RPMs.
            let names = if os_id == "rhel" || os_id == "centos" {
                vec![source_or_name, package.name.clone()]
            } else {
                vec![source_or_name]
            };
            Ok(distro(vec![key], names, Scheme::Rpm))
        }
        PackageType::Python => Ok(language(
            "PyPI",
            normalize_name("PyPI", &package.name),
            package,
            Scheme::Pep440,
        )),
        PackageType::Npm => Ok(language(
            "npm",
            package.name.clone(),
            package,
            Scheme::Semver,
        )),
        PackageType::RustCrate => Ok(language(
            "crates.io",
            package.name.clone(),
            package,
            Scheme::Semver,
        )),
        PackageType::GoModule => Ok(language("Go", package.name.clone(), package, Scheme::Go)),
        PackageType::JavaArchive => Ok(language(
            "Maven",
            maven_coordinates(package),
            package,
            Scheme::Maven,
        )),
    }
}

fn language(key: &str, name: String, package: &Package, scheme: Scheme) -> Lookup {
    Lookup {
        keys: vec![key.to_string()],
        names: vec![name],
        version: package.version.clone(),
        scheme,
    }
}

fn dedup(mut names: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| !n.is_empty() && seen.insert(n.clone()));
    names
}

/// `groupId:artifactId`, from the name when it has both, else from the purl
/// (`pkg:maven/group/artifact@version`).
fn maven_coordinates(package: &Package) -> String {
    if package.name.contains(':') {
        return package.name.clone();
    }
    if let Some(rest) = package.purl.strip_prefix("pkg:maven/") {
        let path = rest.split(['@', '?', '#']).next().unwrap_or("");
        if let Some((group, artifact)) = path.rsplit_once('/') {
            if !group.is_empty() && !artifact.is_empty() {
                return format!("{group}:{artifact}");
            }
        }
    }
    package.name.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(package_type: PackageType, name: &str, version: &str, source: Option<&str>) -> Package {
        Package {
            name: name.into(),
            version: version.into(),
            package_type,
            source_name: source.map(str::to_string),
            source_version: None,
            purl: String::new(),
            layer: None,
            location: String::new(),
            licenses: vec![],
        }
    }

    fn os(id: &str, version_id: &str) -> OsInfo {
        OsInfo {
            id: id.into(),
            version_id: version_id.into(),
            pretty_name: None,
        }
    }

    #[test]
    fn lookup_keys() {
        let cases = [
            ("Debian:12", "Debian:12"),
            ("Ubuntu:22.04:LTS", "Ubuntu:22.04"),
            ("Ubuntu:Pro:18.04:LTS", "Ubuntu:Pro:18.04"),
            ("Red Hat:enterprise_linux:9::appstream", "Red Hat:9"),
            ("Red Hat:enterprise_linux:8.6::baseos", "Red Hat:8"),
            (
                "Red Hat:rhel_eus:8.6::baseos",
                "Red Hat:rhel_eus:8.6::baseos",
            ),
            ("Rocky Linux:9", "Rocky Linux:9"),
            ("AlmaLinux:8.9", "AlmaLinux:8"),
            ("Maven:https://maven.google.com", "Maven"),
            ("PyPI", "PyPI"),
            ("Alpine:v3.19", "Alpine:v3.19"),
        ];
        for (raw, key) in cases {
            assert_eq!(lookup_key(raw), key, "{raw}");
        }
    }

    #[test]
    fn distro_packages_use_source_names() {
        let deb = pkg(
            PackageType::Deb,
            "libssl3",
            "3.0.11-1~deb12u2",
            Some("openssl"),
        );
        let l = lookup_for(&os("debian", "12"), &deb).unwrap();
        assert_eq!(l.keys, vec!["Debian:12", "Debian"]);
        assert_eq!(l.names, vec!["openssl"]);
        assert_eq!(l.scheme, Scheme::Dpkg);

        let apk = pkg(PackageType::Apk, "libcrypto3", "3.1.4-r5", Some("openssl"));
        let l = lookup_for(&os("alpine", "3.19.1"), &apk).unwrap();
        assert_eq!(l.keys, vec!["Alpine:v3.19"]);
        assert_eq!(l.names, vec!["openssl"]);

        let rpm = pkg(
            PackageType::Rpm,
            "openssl-libs",
            "1:3.0.7-24.el9",
            Some("openssl"),
        );
        let l = lookup_for(&os("rhel", "9.3"), &rpm).unwrap();
        assert_eq!(l.keys, vec!["Red Hat:9"]);
        assert_eq!(l.names, vec!["openssl", "openssl-libs"]);
        let l = lookup_for(&os("rocky", "9.3"), &rpm).unwrap();
        assert_eq!(l.keys, vec!["Rocky Linux:9"]);

        let no_source = pkg(PackageType::Deb, "bash", "5.2.15-2+b2", None);
        assert_eq!(
            lookup_for(&os("ubuntu", "22.04"), &no_source)
                .unwrap()
                .names,
            vec!["bash"]
        );
        assert!(lookup_for(&os("fedora", "39"), &rpm).is_err());
    }

    #[test]
    fn language_packages() {
        let py = pkg(PackageType::Python, "Django_REST.framework", "3.0", None);
        let l = lookup_for(&OsInfo::default(), &py).unwrap();
        assert_eq!(l.keys, vec!["PyPI"]);
        assert_eq!(l.names, vec!["django-rest-framework"]);

        let mut jar = pkg(PackageType::JavaArchive, "log4j-core", "2.14.1", None);
        jar.purl = "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1".into();
        let l = lookup_for(&OsInfo::default(), &jar).unwrap();
        assert_eq!(l.names, vec!["org.apache.logging.log4j:log4j-core"]);
        assert_eq!(l.scheme, Scheme::Maven);
    }
}
