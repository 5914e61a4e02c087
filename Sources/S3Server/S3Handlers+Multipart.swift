import Checksums
import ClusterModel
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Node
import S3Protocol
import Units

/// The multipart operations: parse what S3 sends, call the object store, render.
extension S3Handlers {
    func uploadID() throws -> String {
        guard let id = query["uploadId"], !id.isEmpty else { throw S3Error(ObjectError.noSuchUpload) }
        return id
    }

    func createMultipartUpload(_ bucket: BucketRecord, key: String, request: Request) async throws -> Response {
        guard !key.contains(UploadTable.separator) else {
            throw S3Error(.invalidArgument, "Keys holding the control character U+0001 cannot be uploaded in parts.")
        }
        var algorithm: ChecksumAlgorithm?
        if let name = header("x-amz-checksum-algorithm") {
            guard let parsed = ChecksumAlgorithm(name: name.trimmingCharacters(in: .whitespaces)) else {
                throw S3Error(.invalidRequest, "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
            }
            algorithm = parsed
        }
        var type: ChecksumType?
        if let name = header("x-amz-checksum-type") {
            guard let parsed = ChecksumType(rawValue: name.trimmingCharacters(in: .whitespaces).uppercased()) else {
                throw S3Error(.invalidRequest, "Value for x-amz-checksum-type header is invalid.")
            }
            guard let algorithm else { throw S3Error(.invalidRequest, "x-amz-checksum-type needs x-amz-checksum-algorithm.") }
            if parsed == .fullObject && !CRCCombine.supports(algorithm) {
                throw S3Error(.invalidRequest, "The FULL_OBJECT checksum type cannot be used with the \(algorithm.rawValue) checksum algorithm.")
            }
            if parsed == .composite && algorithm == .crc64nvme {
                throw S3Error(.invalidRequest, "The COMPOSITE checksum type cannot be used with the CRC64NVME checksum algorithm.")
            }
            type = parsed
        }
        if let stray = headers.first(where: { $0.name.hasPrefix("x-amz-checksum-") && !["x-amz-checksum-algorithm", "x-amz-checksum-type"].contains($0.name) }) {
            throw S3Error(.invalidRequest, "\(stray.name) has no meaning on CreateMultipartUpload: send x-amz-checksum-algorithm, and the checksums with the parts.")
        }
        var settings = ObjectService.UploadSettings(
            contentType: request.headers[.contentType], userMetadata: try Self.userMetadata(request.headers),
            contentHeaders: storedContentHeaders(contentEncoding: header("content-encoding")), checksumAlgorithm: algorithm,
            checksumType: algorithm.map { _ in type ?? (algorithm == .crc64nvme ? .fullObject : .composite) },
            tags: try requestTags())
        settings.customerKey = try customerKey()
        let upload: MultipartUpload
        do { upload = try await objects.createUpload(bucket: bucket.bucketID, key: key, settings: settings) } catch { throw S3Error(error) }
        var response = xml(S3XML.initiateMultipartUpload(bucket: bucket.name.rawValue, key: key, uploadID: upload.uploadID))
        Self.addEncryptionHeaders(upload.encryption, to: &response.headers)
        if let algorithm = upload.checksumAlgorithm {
            response.headers[HTTPField.Name("x-amz-checksum-algorithm")!] = algorithm.rawValue
            response.headers[HTTPField.Name("x-amz-checksum-type")!] = (upload.checksumType ?? .composite).rawValue
        }
        return response
    }

    func uploadPart(_ bucket: BucketRecord, key: String, request: Request) async throws -> Response {
        let uploadID = try uploadID()
        guard let numberText = query["partNumber"], let number = Int(numberText), (1...S3Limits.maxPartNumber).contains(number) else {
            throw S3Error(.invalidArgument, "Part number must be an integer between 1 and \(S3Limits.maxPartNumber), inclusive.")
        }
        let plan = try bodyPlan(request, maxBytes: S3Limits.maxPartBytes,
                                tooLarge: "Your proposed upload exceeds the maximum allowed part size (5 GiB).")
        var partRequest = ObjectService.PartRequest(bucket: bucket.bucketID, key: key, uploadID: uploadID, partNumber: number,
                                                    body: plan.expectations)
        partRequest.customerKey = try customerKey()
        try await sendContinue()
        let part: ObjectPart
        do { part = try await objects.uploadPart(partRequest, body: plan.stream(request.body)) } catch { throw S3Error(error) }
        var fields = HTTPFields()
        fields[.eTag] = "\"\(part.etag)\""
        if let stored = part.checksum { fields[HTTPField.Name(stored.algorithm.headerName)!] = Base64.encode(stored.digest) }
        if let key = partRequest.customerKey { Self.addEncryptionHeaders(keyMD5: key.md5Base64, to: &fields) }
        return Response(status: .ok, headers: fields)
    }

    func completeMultipartUpload(_ bucket: BucketRecord, key: String, request: Request) async throws -> Response {
        let uploadID = try uploadID()
        if let stray = headers.first(where: { $0.name.hasPrefix("x-amz-checksum-") && $0.name != "x-amz-checksum-type" }) {
            throw S3Error(.notImplemented, "\(stray.name) on CompleteMultipartUpload (a whole-object checksum to verify) is not implemented: send the part checksums in the body.")
        }
        let condition = try writeCondition()
        let body = try await smallBody(request, upTo: S3Limits.maxCompleteBodyBytes, what: "CompleteMultipartUpload body")
        let parsed = try CompleteMultipartUploadRequest.parse(String(decoding: body, as: UTF8.self))
        var sent: [Int: ObjectChecksum] = [:]
        for part in parsed.parts { if let checksum = part.checksum { sent[part.number] = checksum } }
        var expectedSize: UInt64?
        if let text = header("x-amz-mp-object-size") {
            guard let size = UInt64(text.trimmingCharacters(in: .whitespaces)) else { throw S3Error(.invalidArgument, "x-amz-mp-object-size must be a byte count.") }
            expectedSize = size
        }
        let version: ObjectVersion
        do {
            version = try await objects.completeUpload(
                bucket: bucket.bucketID, key: key, uploadID: uploadID,
                parts: parsed.parts.map { MultipartUpload.ChosenPart(number: $0.number, etag: $0.etag) }, sentChecksums: sent,
                expectedSize: expectedSize, condition: condition)
        } catch { throw S3Error(error) }
        let location = "/\(bucket.name.rawValue)/\(SigV4.uriEncode(key, keepSlash: true))"
        var response = xml(S3XML.completeMultipartUpload(location: location, bucket: bucket.name.rawValue, key: key, etag: version.etag,
                                                         checksum: version.checksum))
        Self.addVersionHeader(version.s3VersionID, to: &response.headers)
        return response
    }

    func abortMultipartUpload(_ bucket: BucketRecord, key: String) async throws -> Response {
        let uploadID = try uploadID()
        do { try await objects.abortUpload(bucket: bucket.bucketID, key: key, uploadID: uploadID) } catch { throw S3Error(error) }
        return Response(status: .noContent)
    }

    func listParts(_ bucket: BucketRecord, key: String) async throws -> Response {
        let uploadID = try uploadID()
        let maxParts = try count(query["max-parts"], named: "max-parts", absent: S3Limits.maxListParts, limit: S3Limits.maxListParts)
        let marker = try count(query["part-number-marker"], named: "part-number-marker", absent: 0)
        let page: (upload: MultipartUpload, parts: [ObjectPart], truncated: Bool)
        do { page = try await objects.listParts(bucket: bucket.bucketID, key: key, uploadID: uploadID, after: marker, maxParts: maxParts) } catch {
            throw S3Error(error)
        }
        let entries = page.parts.map {
            S3XML.PartEntry(number: $0.number, lastModified: S3Dates.iso8601($0.lastModifiedMillis), etag: $0.etag, size: $0.size, checksum: $0.checksum)
        }
        return xml(S3XML.listParts(S3XML.PartsPage(
            bucket: bucket.name.rawValue, key: key, uploadID: uploadID, partNumberMarker: marker,
            nextPartNumberMarker: page.parts.last?.number, maxParts: maxParts, isTruncated: page.truncated, parts: entries,
            ownerID: caller.key.id.rawValue, ownerName: caller.key.name, checksumAlgorithm: page.upload.checksumAlgorithm,
            checksumType: page.upload.checksumType)))
    }

    func listMultipartUploads(_ bucket: BucketRecord) async throws -> Response {
        let maxUploads = try count(query["max-uploads"], named: "max-uploads", absent: S3Limits.maxListUploads, limit: S3Limits.maxListUploads)
        let prefix = query["prefix"] ?? ""
        let delimiter = query["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        let keyMarker = query["key-marker"].flatMap { $0.isEmpty ? nil : $0 }
        // Without a key marker, S3 ignores the upload id marker.
        let uploadIDMarker = keyMarker == nil ? nil : query["upload-id-marker"].flatMap { $0.isEmpty ? nil : $0 }
        let urlEncoded = try encodingIsURL()
        let listing: ObjectService.UploadListing
        do {
            listing = try await objects.listUploads(bucket: bucket.bucketID, prefix: prefix, delimiter: delimiter, keyMarker: keyMarker,
                                                    uploadIDMarker: uploadIDMarker, maxUploads: maxUploads)
        } catch { throw S3Error(error) }
        let uploads = listing.uploads.map {
            S3XML.UploadEntry(key: $0.key, uploadID: $0.uploadID, initiated: S3Dates.iso8601($0.initiatedMillis),
                              checksumAlgorithm: $0.checksumAlgorithm, checksumType: $0.checksumType)
        }
        return xml(S3XML.listMultipartUploads(S3XML.UploadsPage(
            bucket: bucket.name.rawValue, prefix: prefix, delimiter: delimiter, keyMarker: keyMarker ?? "", uploadIDMarker: uploadIDMarker ?? "",
            nextKeyMarker: listing.isTruncated ? listing.nextKeyMarker : nil,
            nextUploadIDMarker: listing.isTruncated ? listing.nextUploadIDMarker : nil, maxUploads: maxUploads,
            isTruncated: listing.isTruncated, uploads: uploads, commonPrefixes: listing.commonPrefixes,
            ownerID: caller.key.id.rawValue, ownerName: caller.key.name, urlEncoded: urlEncoded)))
    }
}
